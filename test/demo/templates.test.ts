// The demo's choice of a built-in chat template for a model without one: from the turn markers its
// vocabulary has as special tokens (tok512 with one such token added), else ChatML.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Tokenizer } from '../../src/tokenizer.js';
import { BUILTIN_CHAT_TEMPLATE_NAMES } from '../../src/chat/template.js';
import { TEMPLATE_MARKERS, suggestChatTemplate } from '../../demo/templates.js';
import { shippedJson } from '../tokenizer/fixtures.js';

/**
 * tok512 with `marker` as token 512: a special added token, or a plain piece of the BPE vocabulary.
 * (An added token that is not marked special but looks like one, such as "<|im_start|>", is a
 * control token all the same: llama.cpp's converter makes it one, and spechub follows llama.cpp.)
 */
function withMarker(marker: string, special: boolean): Tokenizer {
  const j = shippedJson('stories260K');
  if (!special) return Tokenizer.fromJson({ ...j.tokenizer, model: { ...j.tokenizer.model, vocab: { ...j.tokenizer.model.vocab, [marker]: 512 } } }, j.config);
  const added = [...(j.tokenizer.added_tokens ?? []), { id: 512, content: marker, special, single_word: false, lstrip: false, rstrip: false, normalized: false }];
  return Tokenizer.fromJson({ ...j.tokenizer, added_tokens: added }, j.config);
}

test('demo: a built-in template from the vocabulary\'s special turn markers, else ChatML', () => {
  const { tokenizer, config } = shippedJson('stories260K');
  assert.deepEqual(suggestChatTemplate(Tokenizer.fromJson(tokenizer, config)), { name: 'chatml', reason: 'no turn markers in the vocabulary; ChatML is the most common format' });
  for (const [marker, name] of TEMPLATE_MARKERS) {
    assert.ok(BUILTIN_CHAT_TEMPLATE_NAMES.includes(name), name);
    assert.deepEqual(suggestChatTemplate(withMarker(marker, true)), { name, reason: `the vocabulary has ${marker} as a special token` });
    // a marker that is plain text in the vocabulary says nothing about the format — but "<|end|>" is
    // an end-of-generation control token to llama.cpp (and spechub) whatever the file says
    const plain = suggestChatTemplate(withMarker(marker, false)).reason;
    assert.equal(plain, marker === '<|end|>' ? 'the vocabulary has <|end|> as a special token' : 'no turn markers in the vocabulary; ChatML is the most common format', marker);
  }
});
