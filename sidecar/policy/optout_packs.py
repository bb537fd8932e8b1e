"""Opt-out / opt-in keyword packs, one per locale: plain data for ``optout.py``.

Words are written as people type them (accents, capitals, spaces, hyphens);
the matcher folds every entry through the same normalisation as the inbound
text, so ``ARRÊT``, ``arret`` and full-width ``ARRET`` are one keyword. Multi-word
entries are compared with their spaces and hyphens removed ("OPT OUT" =
"OPT-OUT" = "OPTOUT").

Sources: Twilio, AWS End User Messaging, Telnyx, Sinch, CWTA, Brevo and the
FCC 24-18 per-se words (see FACTS-consent-security.md §1); the non-English
entries beyond those lists are common usage, not a carrier's list.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class LocalePack:
    """The words of one locale.

    ``strong`` is the subset of ``opt_out`` unambiguous enough to open a longer
    message ("STOP sending me these"); ``object_words`` may follow a strong word
    without diluting it; ``please`` may lead or trail any keyword; ``courtesy``
    may only trail it; ``yes`` counts as opt-in only when the caller says so.
    """

    opt_out: frozenset[str]
    strong: frozenset[str]
    opt_in: frozenset[str]
    yes: frozenset[str] = frozenset()
    please: frozenset[str] = frozenset()
    courtesy: frozenset[str] = frozenset()
    object_words: frozenset[str] = frozenset()


def _words(text: str) -> frozenset[str]:
    """``"A B|C"`` → ``{"A B", "C"}``: entries are separated by ``|``."""
    return frozenset(part.strip() for part in text.split("|") if part.strip())


PACKS: dict[str, LocalePack] = {
    "en": LocalePack(
        opt_out=_words(
            "STOP|STOPALL|STOP ALL|UNSUBSCRIBE|UNSUB|CANCEL|END|QUIT|OPTOUT|OPT OUT|"
            "OPT-OUT|OPT ME OUT|REVOKE|REMOVE|REMOVE ME|STOP IT|STOP MESSAGES"
        ),
        strong=_words(
            "STOP|STOPALL|STOP ALL|UNSUBSCRIBE|UNSUB|OPTOUT|OPT OUT|OPT ME OUT|REVOKE|REMOVE ME"
        ),
        opt_in=_words("START|UNSTOP|SUBSCRIBE|RESUBSCRIBE|OPT IN|OPTIN|OPT-IN"),
        yes=_words("YES|Y|YEP|YEAH"),
        please=_words("PLEASE|PLS|PLZ|PLEASEE|KINDLY"),
        courtesy=_words("THANKS|THANK|YOU|THX|TY|NOW|RIGHT|ASAP|IMMEDIATELY|OK|OKAY"),
        object_words=_words(
            "ME|IT|THIS|THAT|THESE|THOSE|THEM|ALL|EVERYTHING|THE|FROM|OF|TO|FOR|ANY|MORE|MY|"
            "YOUR|US|MESSAGE|MESSAGES|MSG|MSGS|TEXT|TEXTS|TEXTING|SMS|SENDING|MESSAGING|"
            "CONTACTING|SPAM|SPAMMING|LIST|MAILING|NUMBER|NOTIFICATIONS|MARKETING|"
            "PROMOTIONS|PROMOS|ADS|WHATSAPP|CHAT"
        ),
    ),
    "es": LocalePack(
        opt_out=_words(
            "BAJA|DAR DE BAJA|DARME DE BAJA|ALTO|DETENER|SALIR|CANCELAR|NO MAS|NO MÁS|"
            "DESUSCRIBIR|DESUSCRIBIRME|DESUSCRIBIRSE|STOP"
        ),
        strong=_words("DETENER|DESUSCRIBIR|DESUSCRIBIRME|DARME DE BAJA|STOP"),
        opt_in=_words("VOLVER|RECIBIR|SUSCRIBIR|SUSCRIBIRME|REANUDAR"),
        yes=_words("SÍ|SI"),
        please=_words("POR|FAVOR|PORFA|PORFAVOR|XFA"),
        courtesy=_words("GRACIAS|MUCHAS|YA|AHORA"),
        object_words=_words(
            "ME|LOS|LAS|EL|LA|DE|MI|TODO|TODOS|ESTO|MENSAJES|MENSAJE|ENVIOS|ENVIAR|ENVIARME|"
            "LISTA|SUSCRIPCION|PUBLICIDAD"
        ),
    ),
    "pt": LocalePack(
        opt_out=_words(
            "PARAR|PARE|SAIR|CANCELAR|DESCADASTRAR|DESCADASTRE|DESCADASTRAR-ME|DESINSCREVER|"
            "CANCELAR INSCRIÇÃO|STOP"
        ),
        strong=_words("PARAR|DESCADASTRAR|DESCADASTRE|DESCADASTRAR-ME|DESINSCREVER|STOP"),
        opt_in=_words("VOLTAR|RECEBER|INSCREVER|REATIVAR"),
        yes=_words("SIM"),
        please=_words("POR|FAVOR|PFV|PF|PFVR"),
        courtesy=_words("OBRIGADO|OBRIGADA|OBG|JÁ|AGORA"),
        object_words=_words(
            "DE|ME|MANDAR|ENVIAR|MENSAGENS|MENSAGEM|MSG|ISSO|TUDO|TODAS|TODOS|AS|OS|DA|LISTA"
        ),
    ),
    "fr": LocalePack(
        opt_out=_words(
            "ARRÊT|ARRÊTER|ARRÊTE|ARRÊTEZ|ARRETT|DÉSABONNER|ME DÉSABONNER|DÉSABONNEMENT|"
            "DÉSINSCRIRE|ME DÉSINSCRIRE|DÉSINSCRIPTION|STOP"
        ),
        strong=_words(
            "ARRÊT|ARRÊTER|ARRÊTEZ|ARRETT|DÉSABONNER|ME DÉSABONNER|DÉSINSCRIRE|ME DÉSINSCRIRE|"
            "DÉSINSCRIPTION|STOP"
        ),
        opt_in=_words("ABONNER|M'ABONNER|REPRENDRE|DÉBUT"),
        yes=_words("OUI"),
        please=_words("S'IL|VOUS|PLAÎT|SVP|STP"),
        courtesy=_words("MERCI|BEAUCOUP|MAINTENANT"),
        object_words=_words(
            "DE|D'ENVOYER|M'ENVOYER|ENVOYER|DES|LES|MESSAGES|SMS|TOUT|TOUS|MOI|ME|ÇA|CECI|LA|LISTE"
        ),
    ),
    "de": LocalePack(
        opt_out=_words(
            "STOPP|ABMELDEN|ABBESTELLEN|AUSTRAGEN|KÜNDIGEN|BEENDEN|KEINE NACHRICHTEN MEHR|STOP"
        ),
        strong=_words("STOPP|ABMELDEN|ABBESTELLEN|AUSTRAGEN|STOP"),
        opt_in=_words("ANMELDEN|STARTEN|ABONNIEREN"),
        yes=_words("JA"),
        please=_words("BITTE"),
        courtesy=_words("DANKE|SCHÖN|JETZT|SOFORT"),
        object_words=_words("MICH|ALLE|ALLES|NACHRICHTEN|DAS|DIES|KEINE|MEHR|SMS|WERBUNG|LISTE"),
    ),
    "it": LocalePack(
        opt_out=_words(
            "BASTA|DISISCRIVI|DISISCRIVIMI|DISISCRIVERE|CANCELLAMI|ANNULLA ISCRIZIONE|STOP"
        ),
        strong=_words("DISISCRIVI|DISISCRIVIMI|DISISCRIVERE|CANCELLAMI|STOP"),
        opt_in=_words("ISCRIVI|ISCRIVIMI|RIATTIVA"),
        yes=_words("SÌ|SI"),
        please=_words("PER|FAVORE|PIACERE"),
        courtesy=_words("GRAZIE|ORA|ADESSO|SUBITO"),
        object_words=_words("MI|TUTTO|TUTTI|MESSAGGI|I|DA|DALLA|LISTA|QUESTI"),
    ),
    "nl": LocalePack(
        opt_out=_words("AFMELDEN|UITSCHRIJVEN|STOPPEN|OPZEGGEN|STOP"),
        strong=_words("AFMELDEN|UITSCHRIJVEN|STOP"),
        opt_in=_words("AANMELDEN|INSCHRIJVEN"),
        yes=_words("JA"),
        please=_words("ALSTUBLIEFT|AUB|GRAAG"),
        courtesy=_words("DANK|JE|DANKJEWEL|BEDANKT|NU"),
        object_words=_words("MIJ|ME|ALLES|ALLE|BERICHTEN|DIT|DEZE|VAN|DE|LIJST"),
    ),
    "no": LocalePack(
        opt_out=_words("STOPP|AVSLUTT|MELD AV|MELD MEG AV|AVMELD|AVMELDING|STOP"),
        strong=_words("STOPP|AVSLUTT|MELD AV|MELD MEG AV|AVMELD|STOP"),
        opt_in=_words("MELD PÅ|MELD MEG PÅ"),
        yes=_words("JA"),
        please=_words("VENNLIGST"),
        courtesy=_words("TAKK|NÅ"),
        object_words=_words("MEG|ALLE|ALT|MELDINGER|DETTE|FRA|LISTEN"),
    ),
    "hi": LocalePack(
        opt_out=_words(
            "बंद|बंद करो|बंद करें|बंद कीजिए|बन्द करो|रोकें|रोको|रोक दो|सदस्यता रद्द करें|"
            "सदस्यता समाप्त करें|अनसब्सक्राइब|स्टॉप|BAND KARO|BAND KAREN|BAND KARE"
        ),
        strong=_words("अनसब्सक्राइब|स्टॉप|सदस्यता रद्द करें"),
        opt_in=_words("शुरू|शुरू करें|स्टार्ट|सब्सक्राइब"),
        yes=_words("हाँ|हां|HAAN"),
        please=_words("कृपया|प्लीज़|प्लीज"),
        courtesy=_words("धन्यवाद|शुक्रिया|अभी"),
        object_words=_words("मुझे|मैसेज|संदेश|सभी"),
    ),
    "zh": LocalePack(
        opt_out=_words("退订|退訂|取消订阅|取消訂閱|停止|TD|不要再发了|别再发了"),
        strong=_words("退订|退訂|取消订阅|取消訂閱"),
        opt_in=_words("订阅|訂閱|重新订阅|重新訂閱"),
        yes=_words("是|好"),
        please=_words("请|請|麻烦"),
        courtesy=_words("谢谢|謝謝|吧|了|啊"),
        object_words=_words("全部|所有|我|消息|短信|信息|訊息"),
    ),
    "ar": LocalePack(
        opt_out=_words("إيقاف|ايقاف|أوقف|توقف|إلغاء الاشتراك|الغاء الاشتراك|إلغاء|الغاء|ستوب|خروج"),
        strong=_words("إيقاف|أوقف|إلغاء الاشتراك"),
        opt_in=_words("اشتراك|اشترك|ابدأ|بدء"),
        yes=_words("نعم"),
        please=_words("من|فضلك|لو|سمحت|رجاء|رجاءً"),
        courtesy=_words("شكرا|شكراً|لك|الآن"),
        object_words=_words("الرسائل|رسائل|كل|جميع|الاشتراك|عن|ارسال"),
    ),
}
"""Locale code → words. Order matters: a keyword shared by several locales
(CANCELAR, STOP) is attributed to the first selected locale that lists it."""
