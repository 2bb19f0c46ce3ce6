-- code: OFFICIAL_FAMILY
-- version: 1
-- severity: high
-- title: 三类人员子女受助
-- description: 受助学生的监护人或同户人员是领导干部、财政供养人员，或不属于特殊困难教职工的教职工（三类人员）。没有身份证号的监护人按姓名、电话、地址概率匹配，匹配概率达到阈值的也列出。
-- param min_probability float: 0.9 | 无身份证号监护人的匹配概率下限
WITH fam AS (
    SELECT f.student_id, f.person_hash, f.relation, f.name
    FROM family f
    JOIN recipient r ON r.student_id = f.student_id
),
linked AS (
    SELECT g.student_id, gl.official_key, g.relation, g.name, gl.probability
    FROM guardian_link gl
    JOIN guardian g ON g.guardian_id = gl.guardian_id
    JOIN recipient r ON r.student_id = g.student_id
    WHERE gl.probability >= $min_probability
)
SELECT fam.student_id,
       o.official_key AS fact,
       o.kind AS source,
       fam.relation || ' ' || fam.name || ' 是' || o.label
           || CASE WHEN o.kind = 'staff' THEN '（非特殊困难教职工）' ELSE '' END AS detail,
       o.version_id, o.row_number, CAST(NULL AS DOUBLE) AS probability
FROM fam
JOIN official o ON o.person_hash = fam.person_hash
WHERE o.kind IN ('cadre', 'public_payroll')
   OR (o.kind = 'staff' AND NOT o.hardship_staff)
UNION ALL
SELECT l.student_id,
       'linked:' || o.official_key AS fact,
       o.kind AS source,
       l.relation || ' ' || l.name || '（无身份证号）疑似' || o.label || ' ' || o.name
           || '（匹配概率 ' || CAST(ROUND(l.probability * 100, 1) AS VARCHAR) || '%）' AS detail,
       o.version_id, o.row_number, l.probability
FROM linked l
JOIN official o ON o.official_key = l.official_key
WHERE o.kind IN ('cadre', 'public_payroll')
   OR (o.kind = 'staff' AND NOT o.hardship_staff)
