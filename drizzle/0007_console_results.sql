CREATE TABLE `api_tokens` (
	`id` integer PRIMARY KEY NOT NULL,
	`user_id` integer NOT NULL,
	`token_hash` text NOT NULL,
	`prefix` text NOT NULL,
	`created_at` integer NOT NULL,
	`last_used_at` integer,
	FOREIGN KEY (`user_id`) REFERENCES `users`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE UNIQUE INDEX `api_tokens_hash_idx` ON `api_tokens` (`token_hash`);--> statement-breakpoint
CREATE INDEX `api_tokens_user_idx` ON `api_tokens` (`user_id`);--> statement-breakpoint
CREATE TABLE `console_meta` (
	`key` text PRIMARY KEY NOT NULL,
	`value` text NOT NULL
);
--> statement-breakpoint
CREATE TABLE `daily_agent_rule_stats` (
	`destination` text NOT NULL,
	`day` text NOT NULL,
	`agent_id` text NOT NULL,
	`rule` text NOT NULL,
	`passes` integer NOT NULL,
	`fails` integer NOT NULL,
	`nas` integer NOT NULL,
	PRIMARY KEY(`agent_id`, `day`, `destination`, `rule`)
);
--> statement-breakpoint
CREATE TABLE `daily_rule_stats` (
	`destination` text NOT NULL,
	`day` text NOT NULL,
	`rule` text NOT NULL,
	`passes` integer NOT NULL,
	`fails` integer NOT NULL,
	`nas` integer NOT NULL,
	PRIMARY KEY(`destination`, `day`, `rule`)
);
--> statement-breakpoint
CREATE INDEX `daily_rule_stats_day_idx` ON `daily_rule_stats` (`day`);--> statement-breakpoint
CREATE TABLE `daily_stats` (
	`destination` text NOT NULL,
	`day` text NOT NULL,
	`agent_id` text NOT NULL,
	`results` integer NOT NULL,
	`score_sum` real NOT NULL,
	`passed` integer NOT NULL,
	`critical_failed` integer NOT NULL,
	PRIMARY KEY(`destination`, `day`, `agent_id`)
);
--> statement-breakpoint
CREATE INDEX `daily_stats_day_idx` ON `daily_stats` (`day`);--> statement-breakpoint
CREATE INDEX `daily_stats_agent_idx` ON `daily_stats` (`agent_id`,`day`);--> statement-breakpoint
CREATE TABLE `login_throttle` (
	`key` text PRIMARY KEY NOT NULL,
	`failures` integer NOT NULL,
	`last_failure_at` integer NOT NULL,
	`blocked_until` integer NOT NULL
);
--> statement-breakpoint
CREATE TABLE `result_rules` (
	`result_id` integer NOT NULL,
	`rule` text NOT NULL,
	`outcome` text NOT NULL,
	`score` real,
	`evaluated_at` integer NOT NULL,
	PRIMARY KEY(`result_id`, `rule`),
	FOREIGN KEY (`result_id`) REFERENCES `results`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE INDEX `result_rules_rule_time_idx` ON `result_rules` (`rule`,`outcome`,`evaluated_at`,`result_id`);--> statement-breakpoint
CREATE TABLE `results` (
	`id` integer PRIMARY KEY NOT NULL,
	`conversation_id` text NOT NULL,
	`destination` text NOT NULL,
	`agent_id` text NOT NULL,
	`media_type` text,
	`start_time` text,
	`end_time` text,
	`evaluated_at` integer NOT NULL,
	`day` text NOT NULL,
	`overall_score` real NOT NULL,
	`passed` integer NOT NULL,
	`critical_failure` text,
	`rubric_name` text NOT NULL,
	`rubric_version` text NOT NULL,
	`rubric_hash` text NOT NULL,
	`rules_json` text NOT NULL,
	`comment` text NOT NULL,
	`delivery_target` text,
	`delivery_state` text NOT NULL,
	`delivery_id` text,
	`delivered_at` integer,
	`delivery_note` text,
	`review_count` integer DEFAULT 0 NOT NULL,
	`reviewed_at` integer,
	`updated_at` integer NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX `results_conversation_destination_idx` ON `results` (`conversation_id`,`destination`);--> statement-breakpoint
CREATE INDEX `results_time_idx` ON `results` (`evaluated_at`,`id`,`overall_score`,`passed`,`review_count`,`agent_id`);--> statement-breakpoint
CREATE INDEX `results_agent_time_idx` ON `results` (`agent_id`,`evaluated_at`);--> statement-breakpoint
CREATE INDEX `results_critical_time_idx` ON `results` (`evaluated_at`) WHERE "results"."passed" = 0;--> statement-breakpoint
CREATE INDEX `results_reviewed_time_idx` ON `results` (`evaluated_at`) WHERE "results"."review_count" > 0;--> statement-breakpoint
CREATE TABLE `reviews` (
	`id` integer PRIMARY KEY NOT NULL,
	`result_id` integer NOT NULL,
	`rule` text NOT NULL,
	`reviewer_id` integer,
	`reviewer` text NOT NULL,
	`verdict` text NOT NULL,
	`engine_outcome` text NOT NULL,
	`reviewer_outcome` text NOT NULL,
	`note` text,
	`created_at` integer NOT NULL,
	FOREIGN KEY (`result_id`) REFERENCES `results`(`id`) ON UPDATE no action ON DELETE cascade,
	FOREIGN KEY (`reviewer_id`) REFERENCES `users`(`id`) ON UPDATE no action ON DELETE set null
);
--> statement-breakpoint
CREATE UNIQUE INDEX `reviews_result_rule_reviewer_idx` ON `reviews` (`result_id`,`rule`,`reviewer`);--> statement-breakpoint
CREATE INDEX `reviews_created_idx` ON `reviews` (`created_at`);--> statement-breakpoint
CREATE INDEX `reviews_rule_idx` ON `reviews` (`rule`,`engine_outcome`,`reviewer_outcome`);--> statement-breakpoint
CREATE TABLE `sessions` (
	`id_hash` text PRIMARY KEY NOT NULL,
	`user_id` integer NOT NULL,
	`csrf_token` text NOT NULL,
	`created_at` integer NOT NULL,
	`last_seen_at` integer NOT NULL,
	`expires_at` integer NOT NULL,
	FOREIGN KEY (`user_id`) REFERENCES `users`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE INDEX `sessions_expires_idx` ON `sessions` (`expires_at`);--> statement-breakpoint
CREATE INDEX `sessions_user_idx` ON `sessions` (`user_id`);--> statement-breakpoint
CREATE TABLE `transcripts` (
	`conversation_id` text PRIMARY KEY NOT NULL,
	`stored_at` integer NOT NULL,
	`codec` text NOT NULL,
	`lines` integer NOT NULL,
	`body` blob NOT NULL
);
--> statement-breakpoint
CREATE INDEX `transcripts_stored_at_idx` ON `transcripts` (`stored_at`);--> statement-breakpoint
CREATE TABLE `users` (
	`id` integer PRIMARY KEY NOT NULL,
	`name` text NOT NULL,
	`role` text NOT NULL,
	`password_hash` text NOT NULL,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX `users_name_idx` ON `users` ("name" COLLATE NOCASE);--> statement-breakpoint
CREATE INDEX `webhook_events_conversation_idx` ON `webhook_events` (`conversation_id`) WHERE "webhook_events"."conversation_id" IS NOT NULL;