ALTER TABLE `jobs` ADD `reason_code` text;--> statement-breakpoint
-- Hand-added backfill (drizzle-kit cannot express it): rows written before reason codes keep the
-- behaviour their old columns gave them, so an upgraded database still revives outage failures and
-- no-agent skips.
UPDATE `jobs` SET `reason_code` = 'attempts_exhausted' WHERE `state` = 'failed' AND `retry_by_sweep` = 1;--> statement-breakpoint
UPDATE `jobs` SET `reason_code` = 'no_agent' WHERE `state` = 'skipped' AND `reason` = 'conversation has no agent: it cannot be evaluated';--> statement-breakpoint
ALTER TABLE `jobs` DROP COLUMN `retry_by_sweep`;
