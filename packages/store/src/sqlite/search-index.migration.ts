/*
 * Schema step 8: the full-text index of IIIF Content Search (content-search.ts says what it
 * holds). One row per searchable text in `search_entries`, an FTS5 index over it, and triggers
 * that keep both in step with `annotations` and `ocr_pages`: every write the repositories make
 * (replaceResultSet, review, putGroundTruth, replaceOcrPage) updates the index in its own
 * transaction, and no repository has to know the index exists. The last statements fill the
 * index from what a store written before this step holds.
 *
 * Tokenizer: `unicode61 remove_diacritics 2` folds case and removes diacritics from Latin letters
 * (also where a letter carries several), so "Cafe" finds "Café" and "ETE" finds "été"; no
 * stemming, which would be one language's rules applied to a collection in many.
 */

/** The annotation's searchable body texts, one row each (`text`), in body order. */
const annotationTexts = (row: 'NEW', condition = 'TRUE'): string => `
  SELECT ${row}.manifest_id, ${row}.canvas_id, ${row}.id, ${row}.image_index, ${row}.model_id, ${row}.motivation, t.text
  FROM (
    SELECT CASE json_extract(b.value, '$.type')
             WHEN 'TextualBody' THEN json_extract(b.value, '$.value')
             WHEN 'SpecificResource' THEN json_extract(b.value, '$.label')
           END AS text,
           json_extract(b.value, '$.purpose') AS purpose,
           b.key AS k
    FROM json_each(CASE json_type(${row}.body_json, '$.body')
                     WHEN 'array' THEN json_extract(${row}.body_json, '$.body')
                     WHEN 'object' THEN json_array(json(json_extract(${row}.body_json, '$.body')))
                     ELSE '[]' END) AS b
    -- A body that is not an object (a bare string) has no type to read.
    WHERE b.type = 'object'
  ) AS t
  WHERE typeof(t.text) = 'text' AND t.text <> ''
    -- Transcriptions (a body without purpose on a supplementing or painting annotation) are
    -- searched through their OCR page, whose words have boxes.
    AND (t.purpose IN ('tagging', 'classifying', 'identifying', 'describing', 'commenting')
         OR (t.purpose IS NULL AND ${row}.motivation NOT IN ('supplementing', 'painting')))
    AND ${condition}
  ORDER BY t.k`;

/** The page's lines, one row each, in reading order. */
const ocrLines = (row: 'NEW'): string => `
  SELECT ${row}.manifest_id, ${row}.canvas_id, ${row}.set_key, ${row}.image_index, ${row}.model_id, 'supplementing',
         json_extract(l.value, '$.text'), l.value
  FROM json_each(${row}.page_json, '$.blocks') AS b, json_each(b.value, '$.lines') AS l
  WHERE json_type(l.value, '$.text') = 'text'
  ORDER BY b.key, l.key`;

const INSERT_ANNOTATION = 'INSERT INTO search_entries (manifest_id, canvas_id, annotation_id, image_index, model_id, motivation, text)';
const INSERT_LINE = 'INSERT INTO search_entries (manifest_id, canvas_id, set_key, image_index, model_id, motivation, text, line_json)';

export const SEARCH_INDEX_MIGRATION = `
  CREATE TABLE search_entries (
    id            INTEGER PRIMARY KEY,
    manifest_id   TEXT NOT NULL,
    canvas_id     TEXT NOT NULL,
    -- One of the two: the annotation whose body it is, or the OCR page (result set) whose line it is.
    annotation_id TEXT,
    set_key       TEXT,
    image_index   INTEGER NOT NULL,
    model_id      TEXT NOT NULL,
    motivation    TEXT NOT NULL,
    text          TEXT NOT NULL,
    -- An OCR line as the page holds it, with its words and their boxes.
    line_json     TEXT
  );
  CREATE INDEX search_entries_manifest ON search_entries (manifest_id, canvas_id);
  CREATE INDEX search_entries_annotation ON search_entries (annotation_id);
  CREATE INDEX search_entries_set ON search_entries (set_key);
  CREATE VIRTUAL TABLE search_text USING fts5 (
    text, content = 'search_entries', content_rowid = 'id', tokenize = 'unicode61 remove_diacritics 2'
  );
  -- Every (term, row) pair: what autocomplete counts, restricted to one manifest's rows.
  CREATE VIRTUAL TABLE search_terms USING fts5vocab (search_text, instance);

  CREATE TRIGGER search_entries_insert AFTER INSERT ON search_entries BEGIN
    INSERT INTO search_text (rowid, text) VALUES (NEW.id, NEW.text);
  END;
  CREATE TRIGGER search_entries_delete AFTER DELETE ON search_entries BEGIN
    INSERT INTO search_text (search_text, rowid, text) VALUES ('delete', OLD.id, OLD.text);
  END;

  CREATE TRIGGER search_annotation_insert AFTER INSERT ON annotations WHEN NEW.review_state <> 'rejected' BEGIN
    ${INSERT_ANNOTATION} ${annotationTexts('NEW')};
  END;
  -- A review (new state, corrected body) or a re-run of the model (new body): the current revision replaces the old.
  CREATE TRIGGER search_annotation_update AFTER UPDATE OF id, manifest_id, canvas_id, motivation, review_state, body_json ON annotations BEGIN
    DELETE FROM search_entries WHERE annotation_id = OLD.id;
    ${INSERT_ANNOTATION} ${annotationTexts('NEW', "NEW.review_state <> 'rejected'")};
  END;
  CREATE TRIGGER search_annotation_delete AFTER DELETE ON annotations BEGIN
    DELETE FROM search_entries WHERE annotation_id = OLD.id;
  END;

  CREATE TRIGGER search_ocr_insert AFTER INSERT ON ocr_pages BEGIN
    ${INSERT_LINE} ${ocrLines('NEW')};
  END;
  CREATE TRIGGER search_ocr_update AFTER UPDATE ON ocr_pages BEGIN
    DELETE FROM search_entries WHERE set_key = OLD.set_key;
    ${INSERT_LINE} ${ocrLines('NEW')};
  END;
  CREATE TRIGGER search_ocr_delete AFTER DELETE ON ocr_pages BEGIN
    DELETE FROM search_entries WHERE set_key = OLD.set_key;
  END;

  -- What a store written before this step holds: updating each row to itself fires the triggers above.
  UPDATE annotations SET body_json = body_json;
  UPDATE ocr_pages SET page_json = page_json;
`;
