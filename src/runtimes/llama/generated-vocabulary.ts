// The generated model's tokenizer: a llama.cpp "llama" (SentencePiece-style) vocabulary of
// <unk>, <s>, </s>, the 256 byte tokens, the two ChatML control tokens, then normal pieces with
// descending scores (▁ marks a leading space): printable ASCII, common English words with every
// prefix (so the score-ordered merges reach whole words), then letter pairs and triples to fill.

import { TokenType } from "./gguf-format.js";

export interface Vocabulary {
  readonly tokens: readonly string[];
  readonly scores: readonly number[];
  readonly types: readonly TokenType[];
  readonly unknownId: number;
  readonly bosId: number;
  readonly eosId: number;
}

/** The ChatML turn markers the chat template uses; control tokens of the vocabulary. */
export const chatTurnStart = "<|im_start|>";
export const chatTurnEnd = "<|im_end|>";

const space = "\u2581";

const commonWords = `the of and to a in is it you that The It This What How Hello Please Thank Yes No We You He She
They There When Why Where Who he was for on are with as I his they be at one have this
from or had by hot word but what some we can out other were all there when up use your how said an each
she which do their time if will way about many then them write would like so these her long make thing see
him two has look more day could go come did number sound no most people my over know water than call first
who may down side been now find any new work part take get place made live where after back little only
round man year came show every good me give our under name very through just form sentence great think say
help low line differ turn cause much mean before move right boy old too same tell does set three want air
well also play small end put home read hand port large spell add even land here must big high such follow
act why ask men change went light kind off need house picture try us again animal point mother world near
build self earth father head stand own page should country found answer school grow study still learn plant
cover food sun four between state keep eye never last let thought city tree cross farm hard start might
story saw far sea draw left late run while press close night real life few north open seem together next
white children begin got walk example ease paper group always music those both mark often letter until
mile river car feet care second book carry took science eat room friend began idea fish mountain stop once
base hear horse cut sure watch color face wood main enough plain girl usual young ready above ever red list
though feel talk bird soon body dog family direct pose leave song measure door product black short numeral
class wind question happen complete ship area half rock order fire south problem piece told knew pass since
top whole king space heard best hour better true during hundred five remember step early hold west ground
interest reach fast verb sing listen six table travel less morning ten simple several vowel toward war lay
against pattern slow center love person money serve appear road map rain rule govern pull cold notice voice
unit power town fine certain fly fall lead cry dark machine note wait plan figure star box noun field rest
correct able pound done beauty drive stood contain front teach week final gave green quick develop ocean
warm free minute strong special mind behind clear tail produce fact street inch multiply nothing course stay
wheel full force blue object decide surface deep moon island foot system busy test record boat common gold
possible plane stead dry wonder laugh thousand ago ran check game shape equate miss brought heat snow tire
bring yes distant fill east paint language among model request server token reply hello please thanks`;

/** Specials, ChatML markers, byte tokens, ▁ and printable ASCII: below this, text falls back to bytes. */
const minimumSize = 3 + 256 + 2 + 1 + 94;

const suffixes = ["s", "ed", "ing", "er", "est", "ly", "tion", "ment", "ness", "able", "al", "ful", "less"];

/** A vocabulary of exactly `size` tokens, at least 356 (specials, ChatML markers, bytes, ▁ and ASCII). */
export function generatedVocabulary(size: number): Vocabulary {
  if (size < minimumSize) throw new RangeError(`a generated vocabulary needs at least ${minimumSize} tokens`);
  const tokens: string[] = ["<unk>", "<s>", "</s>"];
  const types: TokenType[] = [TokenType.UNKNOWN, TokenType.CONTROL, TokenType.CONTROL];
  for (let byte = 0; byte < 256; byte++) {
    tokens.push(`<0x${byte.toString(16).toUpperCase().padStart(2, "0")}>`);
    types.push(TokenType.BYTE);
  }
  tokens.push(chatTurnStart, chatTurnEnd);
  types.push(TokenType.CONTROL, TokenType.CONTROL);
  const scores: number[] = tokens.map(() => 0);

  const seen = new Set(tokens);
  const pieces: string[] = [];
  const add = (piece: string): void => {
    if (seen.has(piece) || tokens.length + pieces.length >= size) return;
    seen.add(piece);
    pieces.push(piece);
  };
  const addWithPrefixes = (word: string): void => {
    for (let end = 2; end <= word.length; end++) add(word.slice(0, end));
  };

  add(space);
  for (let code = 0x21; code < 0x7f; code++) add(String.fromCharCode(code));
  const words = commonWords.split(/\s+/).filter((word) => word.length > 0);
  for (const word of words) addWithPrefixes(space + word);
  for (const suffix of suffixes) addWithPrefixes(suffix);
  for (const word of words) addWithPrefixes(word);
  const letters = "etaoinshrdlcumwfgypbvkjxqz";
  for (const first of letters) for (const second of letters) add(space + first + second);
  for (const first of letters) for (const second of letters) add(first + second);
  for (const first of letters)
    for (const second of letters) for (const third of letters) add(first + second + third);
  for (const first of letters)
    for (const second of letters) for (const third of letters) add(space + first + second + third);

  if (tokens.length + pieces.length < size)
    throw new RangeError(`a generated vocabulary holds at most ${tokens.length + pieces.length} tokens`);
  for (const [rank, piece] of pieces.entries()) {
    tokens.push(piece);
    types.push(TokenType.NORMAL);
    scores.push(-rank);
  }
  return { tokens, scores, types, unknownId: 0, bosId: 1, eosId: 2 };
}
