"""Input parsing for the playbook publishing pages."""

from django import forms

from helpdesk.yaml_files import PLAYBOOK_MAX_BYTES, YamlFileError, decode_yaml_bytes
from troubleshooting.publishing import MAX_SOURCE_CHARS, normalize_source, source_sha256


class PublishForm(forms.Form):
    """A new version: YAML pasted into the box or a file uploaded (the file wins)."""

    source = forms.CharField(
        label="Playbook YAML",
        required=False,
        strip=False,
        max_length=MAX_SOURCE_CHARS,
        widget=forms.Textarea(attrs={"rows": 18, "spellcheck": "false", "class": "pb-source"}),
        help_text="Paste the whole file, or upload it below.",
    )
    upload = forms.FileField(
        label="Or upload a playbook file",
        required=False,
        help_text="A .yaml or .yml file, UTF-8.",
    )

    def clean(self):
        data = super().clean()
        upload = data.get("upload")
        if upload is not None:
            if not upload.name.endswith((".yaml", ".yml")):
                self.add_error("upload", "Upload a .yaml or .yml file.")
                return data
            if upload.size > PLAYBOOK_MAX_BYTES:
                self.add_error(
                    "upload",
                    f"The file is {upload.size:,} bytes; a playbook may be at most "
                    f"{PLAYBOOK_MAX_BYTES:,} bytes.",
                )
                return data
            try:
                data["source"] = decode_yaml_bytes(
                    upload.read(), source=upload.name, max_bytes=PLAYBOOK_MAX_BYTES
                )
            except YamlFileError as exc:
                self.add_error("upload", f"{exc.location}: {exc.message}")
                return data
            data["source_file"] = upload.name.rsplit("/", 1)[-1]
        else:
            data["source_file"] = ""
        if not (data.get("source") or "").strip():
            raise forms.ValidationError("Paste the playbook's YAML or upload its file.")
        data["source"] = normalize_source(data["source"])
        return data


class ConfirmPublishForm(forms.Form):
    """The confirmation of a preview: the previewed text comes back with its digest and the
    version number the preview showed, so what is published is what was read."""

    source = forms.CharField(strip=False, max_length=MAX_SOURCE_CHARS, widget=forms.HiddenInput)
    source_file = forms.CharField(required=False, max_length=300, widget=forms.HiddenInput)
    sha256 = forms.CharField(min_length=64, max_length=64, widget=forms.HiddenInput)
    number = forms.IntegerField(min_value=1, widget=forms.HiddenInput)

    def clean(self):
        data = super().clean()
        if "source" in data:
            data["source"] = normalize_source(data["source"])
            if data.get("sha256") and source_sha256(data["source"]) != data["sha256"]:
                raise forms.ValidationError(
                    "The text changed after the preview, so nothing was published. Check the "
                    "preview again."
                )
        return data


class DiffForm(forms.Form):
    """Which two versions to compare (numbers of the same playbook)."""

    old = forms.TypedChoiceField(label="From version", coerce=int)
    new = forms.TypedChoiceField(label="To version", coerce=int)

    def __init__(self, data, *, numbers: list[int]):
        super().__init__(data)
        choices = [(number, f"v{number}") for number in numbers]
        self.fields["old"].choices = choices
        self.fields["new"].choices = choices
