/** Demo texts one click away (each shows a different tokenizer behaviour). */
export const SAMPLES: { label: string; text: string }[] = [
  {
    label: 'English',
    text: 'Tokenization is the first thing a language model does to your text, and the last thing most people think about.',
  },
  {
    label: 'Code',
    text: 'def fibonacci(n: int) -> int:\n\tif n < 2:\n\t\treturn n\n\treturn fibonacci(n - 1) + fibonacci(n - 2)\n',
  },
  {
    label: 'Numbers',
    text: 'In 2024 the company earned $1,234,567.89 — up 12.5% from 987654 in 2023. Call +1 (555) 010-9999.',
  },
  {
    label: 'Emoji',
    text: 'Shipped it! 🚀🎉 Family: 👩‍👩‍👧 Flags: 🇫🇷🇯🇵 Thumbs: 👍🏽',
  },
  {
    label: 'Multilingual',
    text: 'Grüße aus Köln! Привет, мир. 你好，世界。こんにちは世界。مرحبا بالعالم. שלום עולם.',
  },
  {
    label: 'Special tokens',
    text: '<|endoftext|>Hello<|im_start|>user\nWhat is 2+2?<|im_end|>',
  },
];
