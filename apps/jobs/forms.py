from __future__ import annotations

from django import forms
from django.conf import settings


class EmbeddingJobForm(forms.Form):
    """Texts to embed, pasted one per line; the same limits as the embeddings API."""

    texts = forms.CharField(
        label="Texts",
        # Unstripped, so that line numbers in error messages match what the user sees.
        strip=False,
        widget=forms.Textarea(
            attrs={
                "rows": 10,
                "spellcheck": "false",
                "placeholder": "Revenue grew 12% year over year.\nThe company breached a covenant on its term loan.",
            }
        ),
        help_text="One text per line. Blank lines are ignored.",
    )

    def clean_texts(self) -> list[str]:
        numbered = [(n, line.strip()) for n, line in enumerate(self.cleaned_data["texts"].splitlines(), start=1)]
        numbered = [(n, line) for n, line in numbered if line]
        lines = [line for _, line in numbered]
        if not lines:
            raise forms.ValidationError("Enter at least one line of text.")
        max_texts = settings.ARGUS_EMBED_MAX_TEXTS
        if len(lines) > max_texts:
            raise forms.ValidationError(f"At most {max_texts} lines per job; this has {len(lines)}.")
        max_chars = settings.ARGUS_EMBED_MAX_TEXT_CHARS
        too_long = [number for number, line in numbered if len(line) > max_chars]
        if too_long:
            shown = ", ".join(str(n) for n in too_long[:5])
            raise forms.ValidationError(f"Each line may have at most {max_chars} characters (too long: line {shown}).")
        return lines
