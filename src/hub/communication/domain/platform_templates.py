"""Templates the platform ships: every organisation has them, and may override each one
(a saved override is that organisation's version 1, 2…; the shipped text stays the
fallback of every other organisation)."""

from __future__ import annotations

from hub.communication.domain.templates import TemplateDraft

#: What a notice about a document (shared with, or mentioning, the recipient) is given.
_DOCUMENT_NOTICE = ("actorName", "documentTitle", "documentUrl")
_DOCUMENT_SAMPLE = {
    "actorName": "Ada Lovelace",
    "documentTitle": "Q3 report",
    "documentUrl": "https://hub.example/documents/1",
}

PLATFORM_TEMPLATES: dict[str, TemplateDraft] = {
    "document.shared": TemplateDraft(
        category="documents",
        description="A document was shared with the recipient.",
        variables=_DOCUMENT_NOTICE,
        sample=dict(_DOCUMENT_SAMPLE),
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
    "document.mentioned": TemplateDraft(
        category="documents",
        description="Someone mentioned the recipient in a note on a document they may read.",
        variables=_DOCUMENT_NOTICE,
        sample=dict(_DOCUMENT_SAMPLE),
        channels={
            "in_app": {
                "en": {
                    "title": "{{ actorName }} mentioned you on “{{ documentTitle }}”",
                    "body": "Open the document to read the note.",
                    "actionUrl": "{{ documentUrl }}",
                },
                "de": {
                    "title": "{{ actorName }} hat Sie bei „{{ documentTitle }}“ erwähnt",
                    "body": "Öffnen Sie das Dokument, um die Notiz zu lesen.",
                    "actionUrl": "{{ documentUrl }}",
                },
            },
            "email": {
                "en": {
                    "subject": "{{ actorName }} mentioned you on “{{ documentTitle }}”",
                    "text": "{{ actorName }} mentioned you in a note on “{{ documentTitle }}”."
                    "\n\nRead it: {{ documentUrl }}\n",
                },
                "de": {
                    "subject": "{{ actorName }} hat Sie bei „{{ documentTitle }}“ erwähnt",
                    "text": "{{ actorName }} hat Sie in einer Notiz zu „{{ documentTitle }}“ "
                    "erwähnt.\n\nLesen: {{ documentUrl }}\n",
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
            "chat": {"en": {"text": "{{ title }}\n\n{{ text }}"}},
        },
    ),
    # Sent by the digest job (services.digests), not through POST /notifications: the
    # items are the in-app titles and texts of the notifications the digest batches.
    "communication.digest": TemplateDraft(
        category="general",
        description="A digest: one e-mail listing a category's notifications of an hour or a day.",
        variables=("count", "categoryName", "period", "items"),
        sample={
            "count": 2,
            "categoryName": "Documents shared with you or changed",
            "period": "hourly",
            "items": [
                {
                    "title": "Ada shared “Q3 report”",
                    "body": "",
                    "actionUrl": "https://hub.example/d/1",
                },
                {"title": "Bob shared “Plan”", "body": "Have a look.", "actionUrl": None},
            ],
        },
        channels={
            "email": {
                "en": {
                    "subject": "{{ count }} new: {{ categoryName }}",
                    "text": "Your {{ period }} digest: {{ categoryName }}\n"
                    "{% for item in items %}\n- {{ item.title }}"
                    "{% if item.body %}\n  {{ item.body }}{% endif %}"
                    "{% if item.actionUrl %}\n  {{ item.actionUrl }}{% endif %}{% endfor %}\n",
                    "html": "<p>Your {{ period }} digest: {{ categoryName }}</p><ul>"
                    "{% for item in items %}<li>"
                    '{% if item.actionUrl %}<a href="{{ item.actionUrl }}">{{ item.title }}</a>'
                    "{% else %}<b>{{ item.title }}</b>{% endif %}"
                    "{% if item.body %}<br>{{ item.body }}{% endif %}</li>{% endfor %}</ul>",
                },
                "de": {
                    "subject": "{{ count }} neu: {{ categoryName }}",
                    "text": "Ihre Zusammenfassung: {{ categoryName }}\n"
                    "{% for item in items %}\n- {{ item.title }}"
                    "{% if item.body %}\n  {{ item.body }}{% endif %}"
                    "{% if item.actionUrl %}\n  {{ item.actionUrl }}{% endif %}{% endfor %}\n",
                },
            }
        },
    ),
    "conversation.unread": TemplateDraft(
        category="messages",
        description="Messages in one of the recipient's conversations stayed unread.",
        variables=("conversationTitle", "conversationUrl"),
        sample={
            "conversationTitle": "Quarterly planning",
            "conversationUrl": "https://hub.example/conversations/1",
        },
        channels={
            "in_app": {
                "en": {
                    "title": "Unread messages in {{ conversationTitle }}",
                    "body": "New messages are waiting for you.",
                    "actionUrl": "{{ conversationUrl }}",
                },
                "de": {
                    "title": "Ungelesene Nachrichten in {{ conversationTitle }}",
                    "body": "Neue Nachrichten warten auf Sie.",
                    "actionUrl": "{{ conversationUrl }}",
                },
            },
            "email": {
                "en": {
                    "subject": "Unread messages in {{ conversationTitle }}",
                    "text": "New messages are waiting for you in {{ conversationTitle }}.\n\n"
                    "Read them: {{ conversationUrl }}\n",
                }
            },
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
