/**
 * The BCP 47 tag (xsd:language, HTML lang) for a language model as Tesseract names it. ALTO's LANG
 * and hOCR's lang want a language, and BCP 47 wants the two-letter ISO 639-1 code where one exists
 * ("fr", not "fra"). Model names are not always languages: "frk" is Tesseract's German Fraktur
 * (in ISO 639-3 it would be Frankish), "chi_sim" is a script variant, and "osd" and "equ" read
 * orientation and equations, not a language; those map by hand or to nothing.
 */
export function languageTag(model: string): string | undefined {
  const known = TAGS[model.toLowerCase()];
  if (known !== undefined) return known === '' ? undefined : known;
  // An unlisted three-letter ISO 639-3 code is already a valid BCP 47 primary subtag.
  return /^[a-z]{2,3}$/u.test(model) ? model : undefined;
}

const TAGS: Record<string, string> = {
  osd: '',
  equ: '',
  eng: 'en',
  fra: 'fr',
  deu: 'de',
  frk: 'de-Latf',
  deu_latf: 'de-Latf',
  ita: 'it',
  ita_old: 'it',
  lat: 'la',
  nld: 'nl',
  spa: 'es',
  spa_old: 'es',
  por: 'pt',
  cat: 'ca',
  dan: 'da',
  swe: 'sv',
  nor: 'no',
  isl: 'is',
  fin: 'fi',
  est: 'et',
  pol: 'pl',
  ces: 'cs',
  slk: 'sk',
  slv: 'sl',
  hrv: 'hr',
  hun: 'hu',
  ron: 'ro',
  ell: 'el',
  grc: 'grc',
  rus: 'ru',
  ukr: 'uk',
  bul: 'bg',
  gle: 'ga',
  cym: 'cy',
  heb: 'he',
  ara: 'ar',
  jpn: 'ja',
  chi_sim: 'zh-Hans',
  chi_tra: 'zh-Hant',
};
