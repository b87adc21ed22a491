-- PostgreSQL keeps a table of the words its search columns hold, to expand
-- prefixes into exact words (../postgres/0013). SQLite's FTS5 answers
-- prefix queries from its own index: nothing to add here. The file keeps
-- the two sets of migrations numbered alike.
select 1;
