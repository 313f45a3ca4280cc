"""Every message of the code is translated into Simplified Chinese; the catalogue loads."""

from aftersales_desk.i18n import _, normalize, set_language
from aftersales_desk.i18n.catalog import untranslated


def test_every_message_has_a_chinese_translation():
    missing = untranslated("zh_CN")
    assert not missing, f"untranslated (run python -m aftersales_desk.i18n.catalog): {missing[:20]}"


def test_switching_language():
    set_language("zh_CN")
    assert _("Cancel") == "取消"
    set_language("en")
    assert _("Cancel") == "Cancel"


def test_normalize():
    assert normalize("zh_CN.UTF-8") == "zh_CN"
    assert normalize("zh-Hans") == "zh_CN"
    assert normalize("en_US") == "en"
    assert normalize("de_DE") == "en"
