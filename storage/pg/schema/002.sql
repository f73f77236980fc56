-- Placeholder on the pg-search branch only, so that 003.sql loads (numbers are gap-free):
-- the coordinator keeps the real 002.sql of its owner when merging.
SELECT 1;
