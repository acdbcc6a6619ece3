from django import forms
from django.conf import settings


class EmbeddingJobForm(forms.Form):
    texts = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 6}),
        help_text="One text per line.",
        max_length=settings.ARGUS_EMBED_MAX_TEXTS * 200,
    )

    def clean_texts(self) -> list[str]:
        lines = [line.strip() for line in self.cleaned_data["texts"].splitlines() if line.strip()]
        if not lines:
            raise forms.ValidationError("Enter at least one line of text.")
        if len(lines) > settings.ARGUS_EMBED_MAX_TEXTS:
            raise forms.ValidationError(f"At most {settings.ARGUS_EMBED_MAX_TEXTS} lines.")
        return lines
