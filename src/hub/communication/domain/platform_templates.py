"""Templates the platform ships: every organisation has them, and may override each one
(a saved override is that organisation's version 1, 2…; the shipped text stays the
fallback of every other organisation)."""

from __future__ import annotations

from hub.communication.domain.templates import TemplateDraft

PLATFORM_TEMPLATES: dict[str, TemplateDraft] = {
    "document.shared": TemplateDraft(
        category="documents",
        description="A document was shared with the recipient.",
        variables=("actorName", "documentTitle", "documentUrl"),
        sample={
            "actorName": "Ada Lovelace",
            "documentTitle": "Q3 report",
            "documentUrl": "https://hub.example/documents/1",
        },
        channels={
            "in_app": {
                "en": {
                    "title": "{{ actorName }} shared “{{ documentTitle }}” with you",
                    "body": "You can now open the document.",
                    "actionUrl": "{{ documentUrl }}",
                },
                "de": {
                    "title": "{{ actorName }} hat „{{ documentTitle }}“ mit Ihnen geteilt",
                    "body": "Sie können das Dokument jetzt öffnen.",
                    "actionUrl": "{{ documentUrl }}",
                },
            },
            "email": {
                "en": {
                    "subject": "{{ actorName }} shared “{{ documentTitle }}” with you",
                    "text": "{{ actorName }} shared “{{ documentTitle }}” with you.\n\n"
                    "Open it: {{ documentUrl }}\n",
                    "html": "<p>{{ actorName }} shared <b>{{ documentTitle }}</b> with you.</p>"
                    '<p><a href="{{ documentUrl }}">Open the document</a></p>',
                },
                "de": {
                    "subject": "{{ actorName }} hat „{{ documentTitle }}“ mit Ihnen geteilt",
                    "text": "{{ actorName }} hat „{{ documentTitle }}“ mit Ihnen geteilt.\n\n"
                    "Öffnen: {{ documentUrl }}\n",
                },
            },
        },
    ),
    "identity.invitation": TemplateDraft(
        category="general",
        description="The recipient was invited to an organisation.",
        variables=("organisationName", "inviterName", "acceptUrl"),
        sample={
            "organisationName": "Acme",
            "inviterName": "Ada Lovelace",
            "acceptUrl": "https://hub.example/invitations/accept",
        },
        channels={
            "in_app": {
                "en": {
                    "title": "{{ inviterName }} invited you to {{ organisationName }}",
                    "body": "Accept the invitation to join.",
                    "actionUrl": "{{ acceptUrl }}",
                }
            },
            "email": {
                "en": {
                    "subject": "You are invited to {{ organisationName }}",
                    "text": "{{ inviterName }} invited you to {{ organisationName }}.\n\n"
                    "Accept: {{ acceptUrl }}\n",
                }
            },
        },
    ),
    "security.alert": TemplateDraft(
        category="security",
        description="Something happened to the recipient's account that they should know.",
        variables=("summary", "detail"),
        sample={"summary": "New sign-in", "detail": "A new sign-in from Firefox on Linux."},
        channels={
            "in_app": {"en": {"title": "Security: {{ summary }}", "body": "{{ detail }}"}},
            "email": {
                "en": {
                    "subject": "Security alert: {{ summary }}",
                    "text": "{{ detail }}\n\nIf this was not you, change your password.\n",
                }
            },
        },
    ),
    "general.announcement": TemplateDraft(
        category="general",
        description="A free-form announcement (title and text from the sender).",
        variables=("title", "text"),
        sample={"title": "Office closed on Friday", "text": "Enjoy the long weekend."},
        channels={
            "in_app": {"en": {"title": "{{ title }}", "body": "{{ text }}"}},
            "email": {"en": {"subject": "{{ title }}", "text": "{{ text }}\n"}},
        },
    ),
    "webhook.disabled": TemplateDraft(
        category="general",
        description="The hub disabled one of the organisation's webhook endpoints (to the "
        "members who manage webhooks).",
        variables=("host", "description", "reason", "webhookId"),
        sample={
            "host": "hooks.example.com",
            "description": "Billing sync",
            "reason": "every delivery failed for 5 days",
            "webhookId": "0191e6a8-5a8e-7000-8000-000000000001",
        },
        channels={
            "in_app": {
                "en": {
                    "title": "Webhook to {{ host }} disabled",
                    "body": "{{ description }}: {{ reason }}. Fix the receiver, then enable "
                    "the endpoint again.",
                }
            },
            "email": {
                "en": {
                    "subject": "Webhook to {{ host }} disabled",
                    "text": "The webhook endpoint {{ webhookId }} ({{ description }}) was "
                    "disabled: {{ reason }}.\n\nNo further events are sent to it until it "
                    "is enabled again.\n",
                }
            },
        },
    ),
}
