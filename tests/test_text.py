"""rasid.text: the model-input normalisation and its offset map, whitespace words, light normalisation."""

from hypothesis import given
from hypothesis import strategies as st

from rasid.text import light_normalize, normalize_for_model, whitespace_words

ARABIC_ALPHABET = "ابتثجحخدذرزسشصضطظعغفقكلمنهويىةءؤئ"
MARKS = "\u064b\u064c\u064d\u064e\u064f\u0650\u0651\u0652\u0670\u0640"  # harakat, shadda, sukun, dagger alef, tatweel
ALEFS = "أإآٱ"

arabic_text = st.text(alphabet=ARABIC_ALPHABET + MARKS + ALEFS + " «»،.0123456789abcXYZ\u200e\ufefb\ufdf2", max_size=80)


def test_examples():
    assert normalize_for_model("إنَّ")[0] == "ان"
    assert normalize_for_model("حـمـص") == ("حمص", [0, 2, 4])
    assert normalize_for_model("أحمد وآل ٱلله")[0] == "احمد وال الله"
    # hamza on waw/yeh, alef maqsura and taa marbuta are kept (see the module docstring)
    assert normalize_for_model("رئيس مؤتمر على مدينة")[0] == "رئيس مؤتمر على مدينة"
    assert normalize_for_model("\u200eبغداد")  == ("بغداد", [1, 2, 3, 4, 5])
    # a ligature expands to its letters, each mapped to the one original character
    assert normalize_for_model("ﻻ")[0] == "لا" and normalize_for_model("ﻻ")[1] == [0, 0]
    assert normalize_for_model("") == ("", [])


@given(arabic_text)
def test_map_is_monotone_and_in_range(text):
    norm, index = normalize_for_model(text)
    assert len(norm) == len(index)
    assert all(0 <= i < len(text) for i in index)
    assert all(a <= b for a, b in zip(index, index[1:], strict=False))
    for ch, i in zip(norm, index, strict=True):
        original = text[i]
        assert ch == original or (ch == "ا" and original in ALEFS) or original in "\ufefb\ufdf2"


@given(st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",), max_codepoint=0x5FF), max_size=60))
def test_nothing_to_normalise_changes_nothing(text):
    # below U+0600 there is no Arabic and nothing to remove (no format characters either)
    assert normalize_for_model(text) == (text, list(range(len(text))))


@given(st.text(alphabet=ARABIC_ALPHABET + " \t\n\u00a0abc.", max_size=60))
def test_whitespace_words(text):
    words = whitespace_words(text)
    assert [text[s:e] for s, e in words] == text.split()
    assert all(a[1] < b[0] for a, b in zip(words, words[1:], strict=False))


def test_light_normalize():
    assert light_normalize("الأسَدُ") == light_normalize("الاسد") == "الاسد"
    assert light_normalize(" حـمـص  الجديدة ") == "حمص الجديدة"
    assert light_normalize("إدلب") == "ادلب"
