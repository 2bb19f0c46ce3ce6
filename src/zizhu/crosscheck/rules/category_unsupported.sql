-- code: CATEGORY_UNSUPPORTED
-- version: 1
-- severity: medium
-- title: 困难类别缺少部门数据支撑
-- description: 受助学生按第 1–6 类认定，但对应部门的数据中没有学生本人或其监护人的有效记录（只比对已导入该部门数据的类别）。
WITH people AS (
    SELECT s.student_id, s.id_hash AS person_hash FROM student s
    UNION ALL
    SELECT g.student_id, g.id_hash FROM guardian g
    WHERE g.id_hash IS NOT NULL AND g.id_hash <> ''
)
SELECT DISTINCT a.student_id,
       'category:' || CAST(a.category AS VARCHAR) || ':' || a.programme AS fact,
       'awards' AS source,
       '按第' || CAST(a.category AS VARCHAR) || '类（' || c.name || '）资助' || a.programme_name
           || '，但' || c.dataset_label || '数据（第' || CAST(v.number AS VARCHAR)
           || '版）中没有本人或监护人的有效记录' AS detail,
       CAST(NULL AS BIGINT) AS version_id, CAST(NULL AS BIGINT) AS row_number,
       CAST(NULL AS DOUBLE) AS probability
FROM award a
JOIN hardship_category c ON c.category = a.category
JOIN dataset_version v ON v.dataset = c.dataset
WHERE a.live
  AND a.category BETWEEN 1 AND 6
  AND NOT EXISTS (
      SELECT 1
      FROM people p
      JOIN category_evidence e ON e.person_hash = p.person_hash
      WHERE p.student_id = a.student_id AND e.category = a.category
  )
