-- Every tick rewrites the row of each assignment it charges (progress, next due moment). With
-- room left in each page the new version stays on the page (a HOT update) and neither index
-- is touched, since none of the columns a tick changes is indexed. Applies to pages filled
-- from now on.
ALTER TABLE assignments SET (fillfactor = 70);
