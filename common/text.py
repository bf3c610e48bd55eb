"""Text normalisation shared by NLU preprocessing and retrieval: full-width to half-width,
traditional to simplified for the characters citizens commonly type, lower case."""
from __future__ import annotations

import re
import unicodedata

# Traditional characters seen in citizen messages about government services (a small,
# targeted table: the NLU data covers the same ones; a full converter would be overkill).
_T2S = str.maketrans(
    "護駕營業執辦證際戶號險繳續簽註記錄無預約檢驗車稅務發費個體產權離結請問麼們這裡還嗎醫療養殘廳時間進訴諮詢領補換學積區門開關專標審處單認職資勞動軍達聯貸買賣與為從見長歲喪亂說話電機後報兒孫樣該對",
    "护驾营业执办证际户号险缴续签注记录无预约检验车税务发费个体产权离结请问么们这里还吗医疗养残厅时间进诉咨询领补换学积区门开关专标审处单认职资劳动军达联贷买卖与为从见长岁丧乱说话电机后报儿孙样该对",
)
_SPACE = re.compile(r"\s+")


def normalize(text: str, lower: bool = True) -> str:
    """NFKC (full-width digits/letters/punctuation -> ASCII), traditional -> simplified,
    collapsed white space; lower case unless `lower` is off (codes like QR… keep their case)."""
    text = unicodedata.normalize("NFKC", text).translate(_T2S)
    text = _SPACE.sub(" ", text).strip()
    return text.lower() if lower else text
