CREATE INDEX `daily_agent_rule_stats_day_idx` ON `daily_agent_rule_stats` (`day`);--> statement-breakpoint
CREATE INDEX `login_throttle_last_failure_idx` ON `login_throttle` (`last_failure_at`);