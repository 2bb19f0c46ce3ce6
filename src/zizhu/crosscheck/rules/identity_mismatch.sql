-- code: IDENTITY_MISMATCH
-- version: 1
-- severity: medium
-- title: 姓名与身份证号不一致
-- description: 在读学生学籍登记的姓名与公安户籍数据中同一身份证号的姓名不一致（可能是登记错误，也可能是冒用身份）。
SELECT s.student_id,
       'name:' || h.name AS fact,
       'household' AS source,
       '学籍姓名“' || s.name || '”，户籍姓名“' || h.name || '”（' || h.person_masked || '）'
           AS detail,
       h.version_id, h.row_number, CAST(NULL AS DOUBLE) AS probability
FROM student s
JOIN ds_household h ON h.person_hash = s.id_hash
WHERE s.status = '在读'
  AND REPLACE(s.name, ' ', '') <> REPLACE(h.name, ' ', '')
