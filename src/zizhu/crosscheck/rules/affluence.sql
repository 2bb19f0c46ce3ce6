-- code: AFFLUENCE
-- version: 1
-- severity: medium
-- title: 家庭经济状况与困难认定不符
-- description: 受助学生本人、监护人或同户人员名下有在用的小型轿车等车辆（摩托车、低速货车、三轮汽车不计），是存续企业的法定代表人或股东且注册资本达到标准，或社保缴费基数达到标准。
-- param vehicle_types list: 小型轿车,小型普通客车,中型普通客车,大型普通客车,中型客车,大型客车 | 计入的车辆类型（另计名称以“货车”结尾的车辆）
-- param truck_excluded list: 低速货车,三轮汽车 | 不计入的货车类型
-- param business_roles list: 法定代表人,股东 | 计入的企业角色
-- param min_capital_10k decimal: 100 | 注册资本下限（万元）
-- param min_insurance_base decimal: 8000 | 社保月缴费基数下限（元）
WITH people AS (
    SELECT s.student_id, s.id_hash AS person_hash, '本人' AS relation, s.name
    FROM student s
    JOIN recipient r ON r.student_id = s.student_id
    UNION
    SELECT f.student_id, f.person_hash, f.relation, f.name
    FROM family f
    JOIN recipient r ON r.student_id = f.student_id
)
SELECT p.student_id,
       'vehicle:' || v.person_hash || ':' || v.plate AS fact,
       'vehicles' AS source,
       p.relation || ' ' || p.name || ' 名下有' || v.vehicle_type || ' ' || v.plate
           || '（' || v.registered_on || ' 登记）' AS detail,
       v.version_id, v.row_number, CAST(NULL AS DOUBLE) AS probability
FROM people p
JOIN ds_vehicles v ON v.person_hash = p.person_hash
WHERE v.status = '正常'
  AND (v.vehicle_type IN (SELECT value FROM param_vehicle_types)
       OR (v.vehicle_type LIKE '%货车'
           AND v.vehicle_type NOT IN (SELECT value FROM param_truck_excluded)))
UNION ALL
SELECT p.student_id,
       'business:' || b.person_hash || ':' || b.credit_code,
       'businesses',
       p.relation || ' ' || p.name || ' 是' || b.company || '的' || b.role
           || '（注册资本 ' || b.capital_10k_yuan || ' 万元）',
       b.version_id, b.row_number, CAST(NULL AS DOUBLE)
FROM people p
JOIN ds_businesses b ON b.person_hash = p.person_hash
WHERE b.status = '存续'
  AND b.role IN (SELECT value FROM param_business_roles)
  AND CAST(b.capital_10k_yuan AS DECIMAL(18, 6)) >= $min_capital_10k
UNION ALL
SELECT p.student_id,
       'insurance:' || i.person_hash || ':' || i.employer,
       'social_insurance',
       p.relation || ' ' || p.name || ' 在' || i.employer || '参保，月缴费基数 '
           || i.monthly_base_yuan || ' 元',
       i.version_id, i.row_number, CAST(NULL AS DOUBLE)
FROM people p
JOIN ds_social_insurance i ON i.person_hash = p.person_hash
WHERE i.status = '正常'
  AND CAST(i.monthly_base_yuan AS DECIMAL(18, 2)) >= $min_insurance_base
