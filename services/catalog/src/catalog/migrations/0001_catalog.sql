CREATE TABLE packages (
    package_id     text PRIMARY KEY,
    latest_version int     NOT NULL,
    retired        boolean NOT NULL DEFAULT false
);

-- Every version as published (PackageDefined JSON), for history and republishing.
CREATE TABLE package_versions (
    package_id text NOT NULL REFERENCES packages (package_id),
    version    int  NOT NULL,
    defined    jsonb NOT NULL,
    PRIMARY KEY (package_id, version)
);
