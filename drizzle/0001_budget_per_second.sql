CREATE TABLE `budget_seconds` (
	`second` integer PRIMARY KEY NOT NULL,
	`grants` integer NOT NULL
);
--> statement-breakpoint
DROP TABLE `budget_grants`;