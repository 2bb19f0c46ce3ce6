-- code: FAVORITISM
-- version: 1
-- severity: high
-- title: 优亲厚友
-- description: 受助学生与本校资助专干、校长（园长）、教师或村社区干部有亲属关系：同一户口、监护人就是其本人、与其共用联系电话，或无身份证号的监护人经概率匹配疑似其本人。
-- param official_posts list: 校长,园长,资助专干,教师 | 计入的教职工岗位
-- param min_probability float: 0.9 | 无身份证号监护人的匹配概率下限
WITH officer AS (
    SELECT o.*
    FROM official o
    WHERE (o.kind = 'staff' AND o.post IN (SELECT value FROM param_official_posts))
       OR o.kind = 'village_cadre'
),
rs AS (
    SELECT s.student_id, s.school_id, s.id_hash, s.phone_hash
    FROM student s
    JOIN recipient r ON r.student_id = s.student_id
),
relation AS (
    -- the guardian is the officer
    SELECT rs.student_id, o.official_key, 'guardian' AS how,
           g.relation || ' ' || g.name || ' 就是' || o.label AS detail,
           CAST(NULL AS DOUBLE) AS probability
    FROM rs
    JOIN guardian g ON g.student_id = rs.student_id
    JOIN officer o ON o.person_hash = g.id_hash
    WHERE o.kind <> 'staff' OR o.school_id = rs.school_id
    UNION ALL
    -- the same household
    SELECT rs.student_id, o.official_key, 'household',
           '与' || o.label || ' ' || o.name || ' 同一户口（户号 ' || sh.household_no || '）',
           CAST(NULL AS DOUBLE)
    FROM rs
    JOIN student_household sh ON sh.student_id = rs.student_id
    JOIN ds_household h ON h.household_no = sh.household_no AND h.person_hash <> rs.id_hash
    JOIN officer o ON o.person_hash = h.person_hash
    WHERE o.kind <> 'staff' OR o.school_id = rs.school_id
    UNION ALL
    -- a shared phone: the student's or a guardian's
    SELECT rs.student_id, o.official_key, 'phone',
           '登记的联系电话与' || o.label || ' ' || o.name || ' 相同',
           CAST(NULL AS DOUBLE)
    FROM rs
    JOIN officer o ON o.phone_hash = rs.phone_hash
    WHERE o.phone_hash IS NOT NULL AND (o.kind <> 'staff' OR o.school_id = rs.school_id)
    UNION ALL
    SELECT rs.student_id, o.official_key, 'phone',
           g.relation || ' ' || g.name || ' 的联系电话与' || o.label || ' ' || o.name || ' 相同',
           CAST(NULL AS DOUBLE)
    FROM rs
    JOIN guardian g ON g.student_id = rs.student_id
    JOIN officer o ON o.phone_hash = g.phone_hash
    WHERE o.phone_hash IS NOT NULL AND (o.kind <> 'staff' OR o.school_id = rs.school_id)
    UNION ALL
    -- a guardian without an ID number, linked by Splink
    SELECT rs.student_id, o.official_key, 'linked',
           g.relation || ' ' || g.name || '（无身份证号）疑似' || o.label || ' ' || o.name
               || '（匹配概率 ' || CAST(ROUND(gl.probability * 100, 1) AS VARCHAR) || '%）',
           gl.probability
    FROM rs
    JOIN guardian g ON g.student_id = rs.student_id
    JOIN guardian_link gl ON gl.guardian_id = g.guardian_id
    JOIN officer o ON o.official_key = gl.official_key
    WHERE gl.probability >= $min_probability
      AND (o.kind <> 'staff' OR o.school_id = rs.school_id)
)
SELECT DISTINCT r.student_id,
       r.how || ':' || r.official_key AS fact,
       o.kind AS source,
       r.detail,
       o.version_id, o.row_number, r.probability
FROM relation r
JOIN officer o ON o.official_key = r.official_key
