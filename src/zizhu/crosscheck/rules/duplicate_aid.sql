-- code: DUPLICATE_AID
-- version: 1
-- severity: high
-- title: 重复资助
-- description: 同一学生同一学年同一项目有两条有效资助，或同一学年在两所学校同时受助，或同一学年同时享受互斥的资助项目（如普通高中国家助学金与中职国家助学金）。
WITH live AS (
    SELECT a.award_id, a.student_id, a.school_id, a.programme, a.programme_name,
           a.school_year
    FROM award a
    WHERE a.live
)
SELECT a.student_id,
       'same:' || CAST(a.award_id AS VARCHAR) || ':' || CAST(b.award_id AS VARCHAR) AS fact,
       'awards' AS source,
       a.school_year || ' 学年' || a.programme_name || '有两条有效资助' AS detail,
       CAST(NULL AS BIGINT) AS version_id, CAST(NULL AS BIGINT) AS row_number,
       CAST(NULL AS DOUBLE) AS probability
FROM live a
JOIN live b ON b.student_id = a.student_id AND b.programme = a.programme
           AND b.school_year = a.school_year AND b.award_id > a.award_id
UNION ALL
SELECT a.student_id,
       'schools:' || CAST(a.award_id AS VARCHAR) || ':' || CAST(b.award_id AS VARCHAR),
       'awards',
       '在两所学校同时受助：' || sa.name || '（' || a.programme_name || '）与 ' || sb.name
           || '（' || b.programme_name || '）',
       CAST(NULL AS BIGINT), CAST(NULL AS BIGINT), CAST(NULL AS DOUBLE)
FROM live a
JOIN live b ON b.student_id = a.student_id AND b.school_year = a.school_year
           AND b.school_id <> a.school_id AND b.award_id > a.award_id
JOIN school sa ON sa.school_id = a.school_id
JOIN school sb ON sb.school_id = b.school_id
UNION ALL
SELECT a.student_id,
       'exclusive:' || CAST(a.award_id AS VARCHAR) || ':' || CAST(b.award_id AS VARCHAR),
       'awards',
       '同时享受互斥项目：' || a.programme_name || ' 与 ' || b.programme_name,
       CAST(NULL AS BIGINT), CAST(NULL AS BIGINT), CAST(NULL AS DOUBLE)
FROM live a
JOIN live b ON b.student_id = a.student_id AND b.school_year = a.school_year
           AND b.award_id > a.award_id
JOIN exclusive_programme x ON x.programme = a.programme AND x.other = b.programme
