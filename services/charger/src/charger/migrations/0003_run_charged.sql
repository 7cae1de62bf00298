-- Whether RunPackage ever recorded a charge of this assignment. Only RunPackage writes ledger
-- rows ahead of the ticks' progress (a tick's own rows commit with its progress), so a tick
-- looks the ledger up only for the assignments marked here, rather than sending every key.
ALTER TABLE assignments ADD COLUMN run_charged boolean NOT NULL DEFAULT false;
UPDATE assignments SET run_charged = true
WHERE assignment_id IN (SELECT assignment_id FROM ledger WHERE reason = 'run_package');
