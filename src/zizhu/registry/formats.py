"""The school register's exchange files (exchange-formats.md, "School register (学籍)").

Headers, keys and enumerations follow the spec exactly; `tests/registry/test_formats.py` also
holds them against the model choices so the two cannot drift apart.
"""

from zizhu.core.tabular import (
    Column,
    bank_account,
    choice,
    date_value,
    id_number,
    optional,
    optional_id_number,
    phone,
    text,
    yes_no,
)

STAGES = ("幼儿园", "小学", "初中", "九年一贯制", "高中", "中职")
GENDERS = ("男", "女")
STUDENT_STATUSES = ("在读", "休学", "转出", "退学", "毕业", "死亡")
RELATIONS = ("父亲", "母亲", "祖父", "祖母", "外祖父", "外祖母", "其他")
POSTS = ("校长", "园长", "资助专干", "教师", "其他")

_school_code = text(20)
_person_name = text(50)
_optional_phone = optional(phone)

SCHOOLS = (
    Column("学校代码", "school_code", _school_code),
    Column("学校名称", "name", text(100)),
    Column("学段", "stage", choice(STAGES)),
    Column("所属街镇", "town", text(50)),
    Column("是否寄宿制", "boarding_school", yes_no),
)

STUDENTS = (
    Column("身份证号", "id_number", id_number),
    Column("姓名", "name", _person_name),
    Column("性别", "gender", choice(GENDERS)),
    Column("学校代码", "school_code", _school_code),
    Column("年级", "grade", text(20)),
    Column("班级", "class", text(20)),
    Column("是否寄宿", "boarder", yes_no),
    Column("学籍状态", "status", choice(STUDENT_STATUSES)),
    Column("入学日期", "enrolled_on", date_value),
    Column("户籍地址", "hukou_address", text(200, blank=True)),
    Column("家庭住址", "home_address", text(200, blank=True)),
    Column("联系电话", "phone", _optional_phone),
    Column("银行卡号", "bank_account", optional(bank_account)),
    Column("持卡人身份证号", "card_holder_id", optional_id_number),
)

GUARDIANS = (
    Column("学生身份证号", "student_id_number", id_number),
    Column("监护人姓名", "name", _person_name),
    Column("监护人身份证号", "id_number", optional_id_number),
    Column("关系", "relation", choice(RELATIONS)),
    Column("工作单位", "employer", text(100, blank=True)),
    Column("联系电话", "phone", _optional_phone),
)

STAFF = (
    Column("身份证号", "id_number", id_number),
    Column("姓名", "name", _person_name),
    Column("学校代码", "school_code", _school_code),
    Column("岗位", "post", choice(POSTS)),
    Column("是否特殊困难教职工", "hardship_staff", yes_no),
    Column("联系电话", "phone", _optional_phone),
)
