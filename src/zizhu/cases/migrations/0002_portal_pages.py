"""The portal's default policy pages (seed 二(一)1): programmes and standards, how to apply,
rights and complaint channels, the hotline. The district centre edits them afterwards; the
hotline number and address here are examples (示例) until the real ones are entered."""

from typing import Any

from django.db import migrations

PAGES: list[dict[str, Any]] = [
    {
        "slug": "programmes",
        "title": "资助项目与标准",
        "order": 10,
        "body": """新洲区按照国家、省、市学生资助政策，对家庭经济困难学生实施以下资助（标准如有调整，以当年文件为准）：

学前教育：对家庭经济困难幼儿给予保育教育费资助，标准按当地规定执行；自2025年秋季学期起，公办幼儿园大班（学前最后一年）免除保育教育费。

义务教育：家庭经济困难学生生活补助。寄宿生小学每生每年1250元、初中每生每年1500元；非寄宿生按寄宿生标准的50%发放（2024年春季学期起）。

普通高中：国家助学金平均每生每年2000元，分档发放（例如每生每年1000元、2000元、3000元），按学期发放；对脱贫家庭、低保家庭、特困供养和家庭经济困难残疾学生免除学杂费。

中等职业教育：一、二年级家庭经济困难学生享受国家助学金，平均每生每年2000元；符合条件的学生免除学费。

家庭经济困难学生的认定：属于脱贫户和防止返贫监测户、最低生活保障家庭、特困供养人员、孤儿和事实无人抚养儿童、烈士子女、家庭经济困难残疾学生等情形的，学校根据相关部门数据直接认定；其他家庭经济困难的，经家访或邻里走访后由学校认定评议。""",
    },
    {
        "slug": "how-to-apply",
        "title": "如何申请资助",
        "order": 20,
        "body": """每学年秋季学期开展资助评定，春季学期对受助学生进行动态复核。

一、提出申请：学生或其法定监护人向就读学校（幼儿园）提出申请，如实填写申请表并签字。请真实、准确、及时申报家庭情况；家庭情况发生变化（如收入明显增加、已脱离困难）的，请主动告知学校。

二、学校评议：学校资助专干初审申请材料，必要时进行家访或邻里走访，提出初步意见，校长（园长）签字确认。

三、三榜公示：学校初审后公示（第一榜）；区学生资助管理中心审核后，学校现场公示（第二榜）；再由区学生资助管理中心网上公示（第三榜）。每榜公示期不少于5个工作日，公示只列姓名、学校、年级、班级、资助项目和档次，不公开身份证号、家庭住址、联系电话、银行卡号和困难原因。

四、发放资助：公示期满无异议的，按规定发放到学生或监护人本人名下的账户。""",
    },
    {
        "slug": "rights",
        "title": "您的权利与投诉渠道",
        "order": 30,
        "body": """对资助名单、资助工作有意见或发现问题，您可以：

在公示期内，通过公示页面上的“我有异议”提出异议；

通过本网站“我要反映问题”在线提交，可以匿名，提交后会得到线索编号和查询码，凭此查询办理进度和答复；

拨打区学生资助管理中心监督电话，或来信、来访；

通过学校学生会、家长会反映。

我们对每一条线索登记受理：学校在3个工作日内完成核查，区学生资助管理中心在2个工作日内完成审核，调整资助的决定从次月起执行，并以书面或口头形式答复反映人。

举报人信息严格保密：姓名和联系方式单独加密保存，只有区学生资助管理中心负责人和纪检监察人员可以查看，每次查看都有记录。""",
    },
    {
        "slug": "hotline",
        "title": "咨询监督电话与地址",
        "order": 40,
        "body": """新洲区学生资助管理中心
监督电话：027-00000000（示例）
工作时间：工作日上午8:30—12:00，下午14:30—17:30
来信来访地址：新洲区邾城街道示例路1号（示例）

请以区教育局正式公布的电话和地址为准。""",
    },
]


def add_pages(apps: Any, schema_editor: Any) -> None:
    page_model = apps.get_model("cases", "PortalPage")
    for page in PAGES:
        page_model.objects.get_or_create(slug=page["slug"], defaults=page)


def remove_pages(apps: Any, schema_editor: Any) -> None:
    page_model = apps.get_model("cases", "PortalPage")
    page_model.objects.filter(slug__in=[p["slug"] for p in PAGES]).delete()


class Migration(migrations.Migration):
    dependencies = [("cases", "0001_initial")]

    operations = [migrations.RunPython(add_pages, remove_pages)]
