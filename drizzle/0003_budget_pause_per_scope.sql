ALTER TABLE `budget_state` ADD `scope` text DEFAULT 'tutorial' NOT NULL;--> statement-breakpoint
CREATE UNIQUE INDEX `budget_state_scope_idx` ON `budget_state` (`scope`);