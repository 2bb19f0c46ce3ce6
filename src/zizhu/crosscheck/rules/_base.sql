-- Shared views every rule may read, created once per run after the snapshot is loaded.
-- Portable SQL: plain joins, UNION, CASE, || and COALESCE only.

-- The student's own household number in the household registration data.
CREATE OR REPLACE VIEW student_household AS
SELECT s.student_id, h.household_no
FROM student s
JOIN ds_household h ON h.person_hash = s.id_hash;

-- A student's family: guardians with an ID number, and the other people sharing the
-- student's 户号 (exchange-formats.md: "Household" means the people sharing a 户号).
CREATE OR REPLACE VIEW family AS
SELECT g.student_id, g.id_hash AS person_hash, g.relation AS relation, g.name AS name
FROM guardian g
WHERE g.id_hash IS NOT NULL AND g.id_hash <> ''
UNION
SELECT sh.student_id, h.person_hash, '同户' || COALESCE(h.relation_to_head, '') AS relation,
       h.name
FROM student_household sh
JOIN ds_household h ON h.household_no = sh.household_no
JOIN student s ON s.student_id = sh.student_id
WHERE h.person_hash <> s.id_hash;

-- Recipients: students with a live award.
CREATE OR REPLACE VIEW recipient AS
SELECT DISTINCT student_id FROM award WHERE live;

-- Everyone whose relation to a recipient matters: school staff, leading cadres, the public
-- payroll and village cadres, with a stable key, and an address from the household data
-- where there is one (for linking guardians who have no ID number).
CREATE OR REPLACE VIEW official AS
SELECT o.official_key, o.kind, o.person_hash, o.person_masked, o.name, o.phone_hash,
       o.school_id, o.post, o.hardship_staff, o.label, o.version_id, o.row_number,
       h.address AS address
FROM (
    SELECT 'staff:' || CAST(st.staff_id AS VARCHAR) AS official_key, 'staff' AS kind,
           st.id_hash AS person_hash, CAST(NULL AS VARCHAR) AS person_masked, st.name,
           st.phone_hash, st.school_id, st.post, st.hardship_staff,
           COALESCE(sc.name, '') || st.post AS label,
           CAST(NULL AS BIGINT) AS version_id, CAST(NULL AS BIGINT) AS row_number
    FROM staff st
    LEFT JOIN school sc ON sc.school_id = st.school_id
    UNION ALL
    SELECT 'cadres:' || c.person_hash, 'cadre', c.person_hash, c.person_masked, c.name,
           CAST(NULL AS VARCHAR), CAST(NULL AS BIGINT), c.title, CAST(NULL AS BOOLEAN),
           '领导干部：' || COALESCE(c.unit, '') || COALESCE(c.title, ''),
           c.version_id, c.row_number
    FROM ds_cadres c
    UNION ALL
    SELECT 'public_payroll:' || p.person_hash, 'public_payroll', p.person_hash,
           p.person_masked, p.name, CAST(NULL AS VARCHAR), CAST(NULL AS BIGINT), p.kind,
           CAST(NULL AS BOOLEAN),
           '财政供养人员：' || COALESCE(p.unit, '') || '（' || COALESCE(p.kind, '') || '）',
           p.version_id, p.row_number
    FROM ds_public_payroll p
    UNION ALL
    SELECT 'village_cadres:' || v.person_hash, 'village_cadre', v.person_hash,
           v.person_masked, v.name, CAST(NULL AS VARCHAR), CAST(NULL AS BIGINT), v.title,
           CAST(NULL AS BOOLEAN),
           '村社区干部：' || COALESCE(v.village, '') || COALESCE(v.title, ''),
           v.version_id, v.row_number
    FROM ds_village_cadres v
) o
LEFT JOIN ds_household h ON h.person_hash = o.person_hash;
