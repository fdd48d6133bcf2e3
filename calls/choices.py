"""Telnyx's enumerations for call and conference commands (endpoints.md), shared by both apps' declarations."""

TRACKS = ["inbound_track", "outbound_track", "both_tracks"]
SPEAK_LANGUAGES = [
    "arb", "cmn-CN", "cy-GB", "da-DK", "de-DE", "en-AU", "en-GB", "en-GB-WLS", "en-IN", "en-US", "es-ES", "es-MX",
    "es-US", "fr-CA", "fr-FR", "hi-IN", "is-IS", "it-IT", "ja-JP", "ko-KR", "nb-NO", "nl-NL", "pl-PL", "pt-BR", "pt-PT",
    "ro-RO", "ru-RU", "sv-SE", "tr-TR",
]
NOISE_ENGINES = [
    "Denoiser", "DeepFilterNet", "Krisp", "AiCoustics", "aic_l_quail", "aic_l_rook", "aic_s_quail", "aic_s_rook",
    "quail_voice_focus_s", "quail_voice_focus_xs",
]
TRANSCRIPTION_ENGINES = [
    "Google", "Telnyx", "Deepgram", "Azure", "xAI", "AssemblyAI", "Speechmatics", "Soniox", "Parakeet", "Humain",
    "Reson8", "Cohere", "A", "B",
]
STREAM_CODECS = ["PCMU", "PCMA", "G722", "OPUS", "AMR-WB", "L16", "default"]
BIDIRECTIONAL_CODECS = ["PCMU", "PCMA", "G722", "OPUS", "AMR-WB", "L16"]
SAMPLING_RATES = [8000, 16000, 22050, 24000, 48000]
REGIONS = ["Australia", "Europe", "Middle East", "US"]
BEEP = ["always", "never", "on_enter", "on_exit"]
CONFERENCE_ROLES = ["barge", "monitor", "none", "whisper"]
TRANSCRIPTION_LANGUAGES = [
    "af", "af-ZA", "am", "am-ET", "ar", "ar-AE", "ar-BH", "ar-DZ", "ar-EG", "ar-IL", "ar-IQ", "ar-JO",
    "ar-KW", "ar-LB", "ar-MA", "ar-MR", "ar-OM", "ar-PS", "ar-QA", "ar-SA", "ar-TN", "ar-YE", "as",
    "auto_detect", "az", "az-AZ", "ba", "be", "bg", "bg-BG", "bn", "bn-BD", "bn-IN", "bo", "br", "bs",
    "bs-BA", "ca", "ca-ES", "cs", "cs-CZ", "cy", "da", "da-DK", "de", "de-AT", "de-CH", "de-DE", "el",
    "el-GR", "en", "en-AU", "en-CA", "en-GB", "en-GH", "en-HK", "en-IE", "en-IN", "en-KE", "en-NG",
    "en-NZ", "en-PH", "en-PK", "en-SG", "en-TZ", "en-US", "en-ZA", "es", "es-419", "es-AR", "es-BO",
    "es-CL", "es-CO", "es-CR", "es-DO", "es-EC", "es-ES", "es-GT", "es-HN", "es-MX", "es-NI", "es-PA",
    "es-PE", "es-PR", "es-PY", "es-SV", "es-US", "es-UY", "es-VE", "et", "et-EE", "eu", "eu-ES", "fa",
    "fa-IR", "fi", "fi-FI", "fil-PH", "fo", "fr", "fr-BE", "fr-CA", "fr-CH", "fr-FR", "gl", "gl-ES", "gu",
    "gu-IN", "ha", "haw", "he", "hi", "hi-IN", "hr", "hr-HR", "ht", "hu", "hu-HU", "hy", "hy-AM", "id",
    "id-ID", "is", "is-IS", "it", "it-CH", "it-IT", "iw-IL", "ja", "ja-JP", "jv-ID", "jw", "ka", "ka-GE",
    "kk", "kk-KZ", "km", "km-KH", "kn", "kn-IN", "ko", "ko-KR", "la", "lb", "ln", "lo", "lo-LA", "lt",
    "lt-LT", "lv", "lv-LV", "mg", "mi", "mk", "mk-MK", "ml", "ml-IN", "mn", "mn-MN", "mr", "mr-IN", "ms",
    "ms-MY", "mt", "my", "my-MM", "ne", "ne-NP", "nl", "nl-BE", "nl-NL", "nn", "no", "no-NO", "oc", "pa",
    "pa-Guru-IN", "pl", "pl-PL", "ps", "pt", "pt-BR", "pt-PT", "ro", "ro-RO", "ru", "ru-RU", "rw-RW",
    "sa", "sd", "si", "si-LK", "sk", "sk-SK", "sl", "sl-SI", "sn", "so", "sq", "sq-AL", "sr", "sr-RS",
    "ss-latn-za", "st-ZA", "su", "su-ID", "sv", "sv-SE", "sw", "sw-KE", "sw-TZ", "ta", "ta-IN", "ta-LK",
    "ta-MY", "ta-SG", "te", "te-IN", "tg", "th", "th-TH", "tk", "tl", "tn-latn-za", "tr", "tr-TR",
    "ts-ZA", "tt", "uk", "uk-UA", "ur", "ur-IN", "ur-PK", "uz", "uz-UZ", "ve-ZA", "vi", "vi-VN", "xh-ZA",
    "yi", "yo", "yue-Hant-HK", "zh", "zh-TW", "zu-ZA",
]
