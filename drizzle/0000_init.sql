CREATE TABLE `budget_grants` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`at` integer NOT NULL
);
--> statement-breakpoint
CREATE TABLE `budget_state` (
	`id` integer PRIMARY KEY NOT NULL,
	`paused_until` integer DEFAULT 0 NOT NULL
);
--> statement-breakpoint
CREATE TABLE `jobs` (
	`conversation_id` text NOT NULL,
	`form_id` text NOT NULL,
	`agent_id` text,
	`media_type` text,
	`start_time` text,
	`end_time` text,
	`source` text NOT NULL,
	`state` text NOT NULL,
	`reason` text,
	`transcript_announced` integer DEFAULT false NOT NULL,
	`attempts` integer DEFAULT 0 NOT NULL,
	`transcript_checks` integer DEFAULT 0 NOT NULL,
	`first_seen_at` integer NOT NULL,
	`next_attempt_at` integer NOT NULL,
	`lease_owner` text,
	`lease_expires_at` integer,
	`evaluation_id` text,
	`overall_score` real,
	`rubric_name` text,
	`rubric_version` text,
	`rubric_hash` text,
	`result_json` text,
	`finished_at` integer,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL,
	PRIMARY KEY(`conversation_id`, `form_id`)
);
--> statement-breakpoint
CREATE INDEX `jobs_runnable_idx` ON `jobs` (`state`,`next_attempt_at`);--> statement-breakpoint
CREATE INDEX `jobs_lease_idx` ON `jobs` (`lease_expires_at`) WHERE "jobs"."state" = 'in_progress';--> statement-breakpoint
CREATE TABLE `sweeps` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`owner` text NOT NULL,
	`started_at` integer NOT NULL,
	`finished_at` integer,
	`status` text NOT NULL,
	`pages` integer DEFAULT 0 NOT NULL,
	`seen` integer DEFAULT 0 NOT NULL,
	`created` integer DEFAULT 0 NOT NULL,
	`error` text
);
--> statement-breakpoint
CREATE TABLE `webhook_events` (
	`webhook_id` text PRIMARY KEY NOT NULL,
	`event_id` text NOT NULL,
	`type` text NOT NULL,
	`conversation_id` text,
	`occurred_at` text NOT NULL,
	`received_at` integer NOT NULL,
	`payload` text NOT NULL
);
