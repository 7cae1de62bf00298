-- The catalog as seen from catalog.packages (latest version per package).
CREATE TABLE catalog_packages (
    package_id   text PRIMARY KEY,
    version      int     NOT NULL,
    retired      boolean NOT NULL DEFAULT false,
    minimum_days int
);

CREATE TABLE assignments (
    assignment_id uuid PRIMARY KEY,
    customer_id   text  NOT NULL,
    assigned      jsonb NOT NULL,  -- the PackageAssigned published first
    current       jsonb NOT NULL,  -- the latest full state (PackageAssigned or AssignmentChanged)
    minimum_days  int
);
CREATE INDEX assignments_customer ON assignments (customer_id);

CREATE TABLE spend_limits (
    customer_id   text PRIMARY KEY,
    monthly_limit numeric,
    currency      text NOT NULL
);
