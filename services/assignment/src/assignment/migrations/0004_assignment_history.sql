-- Every event that made or changed an assignment (PackageAssigned, AssignmentChanged,
-- AssignmentEnded) as published, in order: the read API's history of an assignment.
-- Assignments made before this table existed get their first and latest states only (the
-- changes in between were not kept).
CREATE TABLE assignment_history (
    seq           bigserial PRIMARY KEY,
    assignment_id uuid NOT NULL,
    event         text NOT NULL
);
CREATE INDEX assignment_history_assignment ON assignment_history (assignment_id, seq);

INSERT INTO assignment_history (assignment_id, event)
SELECT assignment_id, assigned::text FROM assignments ORDER BY assignment_id;
INSERT INTO assignment_history (assignment_id, event)
SELECT assignment_id, current::text FROM assignments WHERE current <> assigned
ORDER BY assignment_id;
