-- code: CARD_HOLDER_MISMATCH
-- version: 1
-- severity: medium
-- title: 银行卡持卡人不是学生或监护人
-- description: 受助学生登记的资助卡持卡人身份证号既不是学生本人，也不是登记的任何一位监护人；持卡人若是本区教职工或干部一并列出。
SELECT s.student_id,
       'holder:' || s.card_holder_hash AS fact,
       'register' AS source,
       '资助卡持卡人不是学生本人或登记的监护人'
           || COALESCE('，持卡人是' || o.label || ' ' || o.name, '') AS detail,
       CAST(NULL AS BIGINT) AS version_id, CAST(NULL AS BIGINT) AS row_number,
       CAST(NULL AS DOUBLE) AS probability
FROM student s
JOIN recipient r ON r.student_id = s.student_id
LEFT JOIN (
    SELECT person_hash, MIN(label) AS label, MIN(name) AS name
    FROM official
    GROUP BY person_hash
) o ON o.person_hash = s.card_holder_hash
WHERE s.card_holder_hash IS NOT NULL
  AND s.card_holder_hash <> ''
  AND s.card_holder_hash <> s.id_hash
  AND NOT EXISTS (
      SELECT 1 FROM guardian g
      WHERE g.student_id = s.student_id AND g.id_hash = s.card_holder_hash
  )
