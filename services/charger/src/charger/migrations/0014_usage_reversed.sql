-- UsageReversed (docs/contract.md §4 Usage): a reversed record stops counting toward a minimum
-- spend not charged yet (a period already charged keeps its ledger row). The first reversal
-- of a record is kept; a later one changes nothing.
ALTER TABLE usage ADD COLUMN reversed_by uuid;
