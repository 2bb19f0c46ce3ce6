-- code: DECEASED_OR_GONE
-- version: 1
-- severity: high
-- title: 已死亡或不在读仍在资助
-- description: 学生已死亡注销，或学籍状态不是“在读”，却仍有有效资助，或仍在未结算的发放批次中待发放。
WITH subject AS (
    SELECT a.student_id, 'award:' || CAST(a.award_id AS VARCHAR) AS ref,
           '仍在资助中（' || a.programme_name || ' ' || a.school_year || '）' AS what
    FROM award a
    WHERE a.live
    UNION ALL
    SELECT l.student_id, 'batch:' || l.batch_no, '仍在发放批次 ' || l.batch_no || ' 中待发放'
    FROM payment_line l
)
SELECT su.student_id,
       'dead:' || su.ref AS fact,
       'deaths' AS source,
       '公安死亡注销记录：' || d.died_on || ' 死亡（' || d.person_masked || '），' || su.what
           AS detail,
       d.version_id, d.row_number, CAST(NULL AS DOUBLE) AS probability
FROM subject su
JOIN student s ON s.student_id = su.student_id
JOIN ds_deaths d ON d.person_hash = s.id_hash
UNION ALL
SELECT su.student_id,
       'status:' || s.status || ':' || su.ref,
       'register',
       '学籍状态为“' || s.status || '”，' || su.what,
       CAST(NULL AS BIGINT), CAST(NULL AS BIGINT), CAST(NULL AS DOUBLE)
FROM subject su
JOIN student s ON s.student_id = su.student_id
WHERE s.status <> '在读'
