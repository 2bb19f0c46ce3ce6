-- code: MISSED_ELIGIBLE
-- version: 1
-- severity: low
-- title: 应助未助
-- description: 在读学生本人或其监护人在第 1–6 类对应的部门数据中有有效记录，但没有任何有效资助（应助尽助）。
WITH people AS (
    SELECT s.student_id, s.id_hash AS person_hash, '本人' AS relation, s.name
    FROM student s
    WHERE s.status = '在读'
    UNION ALL
    SELECT g.student_id, g.id_hash, g.relation, g.name
    FROM guardian g
    JOIN student s ON s.student_id = g.student_id
    WHERE s.status = '在读' AND g.id_hash IS NOT NULL AND g.id_hash <> ''
)
SELECT DISTINCT p.student_id,
       'eligible:' || CAST(e.category AS VARCHAR) || ':' || e.person_hash AS fact,
       e.dataset AS source,
       p.relation || ' ' || p.name || ' 在' || e.detail || '，符合第'
           || CAST(e.category AS VARCHAR) || '类（' || c.name || '），但学生没有有效资助' AS detail,
       e.version_id, e.row_number, CAST(NULL AS DOUBLE) AS probability
FROM people p
JOIN category_evidence e ON e.person_hash = p.person_hash
JOIN hardship_category c ON c.category = e.category
WHERE NOT EXISTS (SELECT 1 FROM recipient r WHERE r.student_id = p.student_id)
