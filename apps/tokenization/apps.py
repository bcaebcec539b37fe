import threading

from django.apps import AppConfig


class TokenizationConfig(AppConfig):
    name = "apps.tokenization"
    label = "tokenization"

    def ready(self) -> None:
        from workers.text_tokenizers.words import warm_up

        # The word segmenter's class table takes about half a second to build: not on the first request's clock.
        threading.Thread(target=warm_up, name="word-table-warm-up", daemon=True).start()
