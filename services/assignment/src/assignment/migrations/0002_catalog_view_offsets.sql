-- How far the catalog view has read catalog.packages, written with the view itself, so the
-- service can tell "unknown package" from "not read yet".
CREATE TABLE catalog_view_offsets (
    partition   int PRIMARY KEY,
    next_offset bigint NOT NULL
);
