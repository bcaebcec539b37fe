"""Texts that break naive tokenizer tooling: many scripts, emoji sequences, combining marks, controls, whitespace."""

from __future__ import annotations

HARD_TEXTS: dict[str, str] = {
    "empty": "",
    "space": " ",
    "newline": "\n",
    "one_char": "a",
    "one_emoji": "🙂",
    "english": "Hello, world! It's 9:30 a.m.; don't panic — the café's naïve résumé costs $1,234.56 (≈€1 100).",
    "cjk": "日本語のテキストです。中文文本，繁體字。한국어 텍스트입니다. カタカナとひらがな",
    "rtl": "مرحبا بالعالم! هذا نص عربي ١٢٣٤٥ \u200fשלום עולם, זה טקסט בעברית.\u200e mixed עברית and English",
    "indic_thai": "नमस्ते दुनिया, यह हिन्दी है। ক্ষ স্বাগতম สวัสดีชาวโลก ภาษาไทยไม่มีช่องว่าง",
    "emoji": "👨\u200d👩\u200d👧\u200d👦 family 👍🏽👍🏿 🏳️\u200d🌈 🇺🇸🇯🇵 ❤️\u200d🔥 🧑🏾\u200d🚀 #️⃣ 😀😃😄",
    "combining": "e\u0301 a\u0308 n\u0303 Z\u0324\u0354\u0367\u0311\u0313a\u0348\u034d\u036d l\u0325 \u1100\u1161\u11a8 ǅ ﬁ Å",
    "controls": "a\x00b\x01c\x07d\x1b[31mred\x1b[0m\x7f e\x08f\tg\vh\fi\rj\x1c\x1d\x1e\x1fk",
    "whitespace": "a"
    + " " * 47
    + "b\n\n\n\n\n\nc\t\t\t\td \r\n e\u00a0f\u2003g\u3000h\u2028i\u2029j\u0085k\u1680l\u202fm\u205fn  ",
    "digits": "1 12 123 1234 12345 123456 1234567 12345678901234567890 3.14159 2,147,483,647 0x1F 007 ١٢٣ ½ 2024-11-23",
    "specials": "<|endoftext|> <s> </s> [CLS] [SEP] [MASK] <|im_start|>user<|im_end|> <start_of_turn> <unk> <pad> [INST] <|begin_of_text|> <tool_call> <｜end▁of▁sentence｜>",
    "code": "def f(x: int) -> int:\n    return x ** 2  # square\n\n\tif (a && b) { return -1; }\n",
    "decomposed": "Cafe\u0301 and Cafe\u0301s, Ame\u0301lie, fiance\u0301e",
    "astral": "𝔘𝔫𝔦𝔠𝔬𝔡𝔢 𝟙𝟚𝟛 𓀀𓀁 𠜎𠜱 \U0010fffd",
    "zero_width": "\ufeffBOM zero\u200bwidth soft\u00adhyphen joiner\u200dnon\u200cjoiner \ue000 \uffff \ufffd",
    "sp_marker": "▁ ▁▁ a▁b ＿",
    "leading_spaces": "   leading and trailing   ",
}
