CREATE TABLE `signature_failures` (
	`minute` integer NOT NULL,
	`reason` text NOT NULL,
	`failures` integer NOT NULL,
	`last_at` integer NOT NULL,
	PRIMARY KEY(`minute`, `reason`)
);
--> statement-breakpoint
CREATE INDEX `jobs_finished_idx` ON `jobs` (`finished_at`);--> statement-breakpoint
CREATE INDEX `jobs_reason_idx` ON `jobs` (`reason_code`,`finished_at`) WHERE "jobs"."reason_code" IS NOT NULL;--> statement-breakpoint
CREATE INDEX `webhook_events_received_idx` ON `webhook_events` (`received_at`);