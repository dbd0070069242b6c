-- How far each audit journal (<db>.journal/*.jsonl, one per gateway process)
-- has been folded into calls, in lines. Written in the same transaction as the
-- rows, so that replaying a journal after a crash never inserts a row twice.
CREATE TABLE IF NOT EXISTS journals (
  file    TEXT PRIMARY KEY,             -- the journal's file name
  folded  INTEGER NOT NULL              -- lines from its start already in calls
);
