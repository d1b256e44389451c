// crypto.subtle against published known-answer vectors and hostile input; run by
// tests/unit/engine/v8/subtle_crypto_test.cc, one group per request.
import {deepEq, eq, group, groupsHandler, ok, rejects, throws} from './test_groups.js';

export default groupsHandler;

const subtle = crypto.subtle;
const enc = new TextEncoder();
function hex(buffer) {
  return [...new Uint8Array(buffer)].map((b) => b.toString(16).padStart(2, '0')).join('');
}
function unhex(text) {
  const clean = text.replace(/\s+/g, '');
  const out = new Uint8Array(clean.length / 2);
  for (let i = 0; i < out.length; ++i) out[i] = parseInt(clean.substr(2 * i, 2), 16);
  return out;
}

function b64url(bytes) {
  return btoa(String.fromCharCode(...new Uint8Array(bytes)))
      .replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}
const fill = (n, byte) => new Uint8Array(n).fill(byte);

group('Digest', (test) => {
  test('SHA family on "abc" (FIPS 180-2 examples)', async () => {
    const abc = enc.encode('abc');
    eq(hex(await subtle.digest('SHA-1', abc)), 'a9993e364706816aba3e25717850c26c9cd0d89d');
    eq(hex(await subtle.digest({name: 'sha-256'}, abc)),
       'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
    eq(hex(await subtle.digest('SHA-384', abc)),
       'cb00753f45a35e8bb5a03d699ac65007272c32ab0eded1631a8b605a43ff5bed' +
           '8086072ba1e7cc2358baeca134c825a7');
    eq(hex(await subtle.digest('SHA-512', abc)),
       'ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a' +
           '2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f');
  });
  test('zero-length input and a 10 MiB input in steps', async () => {
    eq(hex(await subtle.digest('SHA-256', new Uint8Array(0))),
       'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
    const big = new Uint8Array(10 << 20).fill(0x61);
    const stream = new crypto.DigestStream('SHA-256');
    const writer = stream.getWriter();
    await writer.write(big.subarray(0, 3 << 20));
    await writer.write(big.subarray(3 << 20));
    await writer.close();
    eq(hex(await stream.digest), hex(await subtle.digest('SHA-256', big)));
  });
  test('unknown hashes are NotSupportedError, missing data a TypeError', async () => {
    await rejects(subtle.digest('MD5', new Uint8Array(1)), DOMException, 'NotSupportedError');
    await rejects(subtle.digest('SHA-256', 'text'), TypeError);
    await rejects(subtle.digest({}, new Uint8Array(1)), TypeError);
  });
  test('DigestStream hashes strings as UTF-8 and rejects non-bytes', async () => {
    const stream = new crypto.DigestStream('SHA-1');
    const writer = stream.getWriter();
    await writer.write('ab');
    await writer.write(enc.encode('c'));
    await writer.close();
    eq(hex(await stream.digest), 'a9993e364706816aba3e25717850c26c9cd0d89d');
    eq(stream.bytesWritten, 3);
    throws(() => new crypto.DigestStream('MD5'), DOMException, 'NotSupportedError');
    const bad = new crypto.DigestStream('SHA-256').getWriter();
    await rejects(bad.write(42), TypeError);
  });
  test('timingSafeEqual compares equal-length buffers', () => {
    eq(subtle.timingSafeEqual(enc.encode('abc'), enc.encode('abc')), true);
    eq(subtle.timingSafeEqual(enc.encode('abc'), enc.encode('abd')), false);
    eq(subtle.timingSafeEqual(new ArrayBuffer(0), new Uint8Array(0)), true);
    throws(() => subtle.timingSafeEqual(enc.encode('a'), enc.encode('ab')), RangeError);
    throws(() => subtle.timingSafeEqual('a', 'a'), TypeError);
  });
});

// RFC 4231 §4: HMAC-SHA-256/384/512 test cases 1, 2, 6 and 7 (6 and 7 use a 131-byte key, longer
// than the block).
group('Hmac', (test) => {
  const cases = [
    {key: fill(20, 0x0b), data: enc.encode('Hi There'),
     'SHA-256': 'b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7',
     'SHA-384': 'afd03944d84895626b0825f4ab46907f15f9dadbe4101ec682aa034c7cebc59c' +
         'faea9ea9076ede7f4af152e8b2fa9cb6',
     'SHA-512': '87aa7cdea5ef619d4ff0b4241a1d6cb02379f4e2ce4ec2787ad0b30545e17cde' +
         'daa833b7d6b8a702038b274eaea3f4e4be9d914eeb61f1702e696c203a126854'},
    {key: enc.encode('Jefe'), data: enc.encode('what do ya want for nothing?'),
     'SHA-256': '5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843',
     'SHA-384': 'af45d2e376484031617f78d2b58a6b1b9c7ef464f5a01b47e42ec3736322445e' +
         '8e2240ca5e69e2c78b3239ecfab21649',
     'SHA-512': '164b7a7bfcf819e2e395fbe73b56e0a387bd64222e831fd610270cd7ea250554' +
         '9758bf75c05a994a6d034f65f8f0e6fdcaeab1a34d4a6b4b636e070a38bce737'},
    {key: fill(131, 0xaa),
     data: enc.encode('Test Using Larger Than Block-Size Key - Hash Key First'),
     'SHA-256': '60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54',
     'SHA-512': '80b24263c7c1a3ebb71493c1dd7be8b49b46d1f41b4aeec1121b013783f8f352' +
         '6b56d037e05f2598bd0fd2215d6a1e5295e64f73f63f0aec8b915a985d786598'},
    {key: fill(131, 0xaa),
     data: enc.encode('This is a test using a larger than block-size key and a larger ' +
                      'than block-size data. The key needs to be hashed before being used' +
                      ' by the HMAC algorithm.'),
     'SHA-256': '9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2'},
  ];
  test('RFC 4231 test cases sign and verify', async () => {
    for (const c of cases) {
      for (const hash of ['SHA-256', 'SHA-384', 'SHA-512']) {
        if (c[hash] === undefined) continue;
        const key = await subtle.importKey('raw', c.key, {name: 'HMAC', hash}, false,
                                           ['sign', 'verify']);
        eq(hex(await subtle.sign('HMAC', key, c.data)), c[hash], `${hash}`);
        eq(await subtle.verify('HMAC', key, unhex(c[hash]), c.data), true);
        eq(await subtle.verify('HMAC', key, unhex(c[hash]).subarray(1), c.data), false);
      }
    }
  });
  test('JWK import gives the same MAC', async () => {
    const jwk = {kty: 'oct', k: b64url(fill(20, 0x0b)), alg: 'HS256'};
    const key = await subtle.importKey('jwk', jwk, {name: 'HMAC', hash: 'SHA-256'}, true, ['sign']);
    eq(hex(await subtle.sign('HMAC', key, enc.encode('Hi There'))), cases[0]['SHA-256']);
    const out = await subtle.exportKey('jwk', key);
    eq(out.k, jwk.k);
    eq(out.alg, 'HS256');
    deepEq(out.key_ops, ['sign']);
  });
});

// RFC 5869 Appendix A: test cases 1 (SHA-256), 3 (empty salt and info) and 4 (SHA-1).
group('Hkdf', (test) => {
  test('RFC 5869 test cases', async () => {
    const cases = [
      {hash: 'SHA-256', ikm: fill(22, 0x0b), salt: unhex('000102030405060708090a0b0c'),
       info: unhex('f0f1f2f3f4f5f6f7f8f9'), length: 42,
       okm: '3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf' +
           '34007208d5b887185865'},
      {hash: 'SHA-256', ikm: fill(22, 0x0b), salt: new Uint8Array(0), info: new Uint8Array(0),
       length: 42,
       okm: '8da4e775a563c18f715f802a063c5a31b8a11f5c5ee1879ec3454e5f3c738d2d' +
           '9d201395faa4b61a96c8'},
      {hash: 'SHA-1', ikm: fill(11, 0x0b), salt: unhex('000102030405060708090a0b0c'),
       info: unhex('f0f1f2f3f4f5f6f7f8f9'), length: 42,
       okm: '085a01ea1b10f36933068b56efa5ad81a4f14b822f5b091568a9cdd4f155fda2' +
           'c22e422478d305f3f896'},
    ];
    for (const c of cases) {
      const key = await subtle.importKey('raw', c.ikm, 'HKDF', false, ['deriveBits']);
      const bits = await subtle.deriveBits({name: 'HKDF', hash: c.hash, salt: c.salt,
                                            info: c.info}, key, c.length * 8);
      eq(hex(bits), c.okm);
    }
  });
  test('lengths past 255 hash blocks and non-byte lengths are OperationError', async () => {
    const key = await subtle.importKey('raw', fill(16, 1), 'HKDF', false, ['deriveBits']);
    const alg = {name: 'HKDF', hash: 'SHA-256', salt: new Uint8Array(0), info: new Uint8Array(0)};
    await rejects(subtle.deriveBits(alg, key, 255 * 256 + 8), DOMException, 'OperationError');
    await rejects(subtle.deriveBits(alg, key, 12), DOMException, 'OperationError');
    await rejects(subtle.importKey('raw', fill(16, 1), 'HKDF', true, ['deriveBits']), DOMException,
                  'SyntaxError');
  });
});

// RFC 6070 §2 (PBKDF2-HMAC-SHA1) and RFC 7914 §11 (PBKDF2-HMAC-SHA256).
group('Pbkdf2', (test) => {
  test('RFC 6070 and RFC 7914 vectors', async () => {
    const cases = [
      ['SHA-1', 'password', 'salt', 1, 20, '0c60c80f961f0e71f3a9b524af6012062fe037a6'],
      ['SHA-1', 'password', 'salt', 2, 20, 'ea6c014dc72d6f8ccd1ed92ace1d41f0d8de8957'],
      ['SHA-1', 'password', 'salt', 4096, 20, '4b007901b765489abead49d926f721d065a429c1'],
      ['SHA-1', 'passwordPASSWORDpassword', 'saltSALTsaltSALTsaltSALTsaltSALTsalt', 4096, 25,
       '3d2eec4fe41c849b80c8d83662c0e44a8b291a964cf2f07038'],
      ['SHA-1', 'pass\0word', 'sa\0lt', 4096, 16, '56fa6aa75548099dcc37d7f03425e0c3'],
      ['SHA-256', 'passwd', 'salt', 1, 64,
       '55ac046e56e3089fec1691c22544b605f94185216dde0465e68b9d57c20dacbc' +
           '49ca9cccf179b645991664b39d77ef317c71b845b1e30bd509112041d3a19783'],
      ['SHA-256', 'Password', 'NaCl', 80000, 64,
       '4ddcd8f60b98be21830cee5ef22701f9641a4418d04c0414aeff08876b34ab56' +
           'a1d425a1225833549adb841b51c9b3176a272bdebba1d078478f62b397f33c8d'],
    ];
    for (const [hash, password, salt, iterations, length, expected] of cases) {
      const key = await subtle.importKey('raw', enc.encode(password), 'PBKDF2', false,
                                         ['deriveBits']);
      const bits = await subtle.deriveBits(
          {name: 'PBKDF2', hash, salt: enc.encode(salt), iterations}, key, length * 8);
      eq(hex(bits), expected, `${password}/${iterations}`);
    }
  });
  test('deriveKey gives an AES key from the derived bits', async () => {
    const base = await subtle.importKey('raw', enc.encode('password'), 'PBKDF2', false,
                                        ['deriveKey']);
    const key = await subtle.deriveKey(
        {name: 'PBKDF2', hash: 'SHA-1', salt: enc.encode('salt'), iterations: 2}, base,
        {name: 'AES-GCM', length: 128}, true, ['encrypt']);
    eq(hex(await subtle.exportKey('raw', key)), 'ea6c014dc72d6f8ccd1ed92ace1d41f0');
  });
  test('zero iterations is OperationError', async () => {
    const key = await subtle.importKey('raw', enc.encode('p'), 'PBKDF2', false, ['deriveBits']);
    await rejects(subtle.deriveBits({name: 'PBKDF2', hash: 'SHA-256', salt: new Uint8Array(8),
                                     iterations: 0}, key, 256),
                  DOMException, 'OperationError');
  });
});

// RFC 8032 §7.1 TEST 1 and TEST 2.
group('Ed25519', (test) => {
  const pkcs8Prefix = unhex('302e020100300506032b657004220420');
  const vectors = [
    {secret: '9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60',
     public: 'd75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a', message: '',
     signature: 'e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e06522490155' +
         '5fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b'},
    {secret: '4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb',
     public: '3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c', message: '72',
     signature: '92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da' +
         '085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00'},
  ];
  test('RFC 8032 signatures from pkcs8, raw and jwk keys', async () => {
    for (const v of vectors) {
      const pkcs8 = new Uint8Array([...pkcs8Prefix, ...unhex(v.secret)]);
      const priv = await subtle.importKey('pkcs8', pkcs8, 'Ed25519', true, ['sign']);
      eq(hex(await subtle.sign('Ed25519', priv, unhex(v.message))), v.signature);
      const pub = await subtle.importKey('raw', unhex(v.public), 'Ed25519', true, ['verify']);
      eq(await subtle.verify('Ed25519', pub, unhex(v.signature), unhex(v.message)), true);
      const tampered = unhex(v.signature);
      tampered[0] ^= 1;
      eq(await subtle.verify('Ed25519', pub, tampered, unhex(v.message)), false);
      const jwk = await subtle.exportKey('jwk', priv);
      eq(jwk.x, b64url(unhex(v.public)));
      eq(jwk.d, b64url(unhex(v.secret)));
      const again = await subtle.importKey('jwk', jwk, 'Ed25519', false, ['sign']);
      eq(hex(await subtle.sign('Ed25519', again, unhex(v.message))), v.signature);
    }
  });
  test('a JWK whose x does not match d is a DataError', async () => {
    const jwk = {kty: 'OKP', crv: 'Ed25519', d: b64url(unhex(vectors[0].secret)),
                 x: b64url(unhex(vectors[1].public))};
    await rejects(subtle.importKey('jwk', jwk, 'Ed25519', false, ['sign']), DOMException,
                  'DataError');
  });
});

// RFC 7748 §6.1.
group('X25519', (test) => {
  test('RFC 7748 shared secret', async () => {
    const prefix = unhex('302e020100300506032b656e04220420');
    const alice = await subtle.importKey(
        'pkcs8',
        new Uint8Array([...prefix,
                        ...unhex('77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a')]),
        'X25519', true, ['deriveBits']);
    const bobPublic = await subtle.importKey(
        'raw', unhex('de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f'), 'X25519',
        true, []);
    const bits = await subtle.deriveBits({name: 'X25519', public: bobPublic}, alice, 256);
    eq(hex(bits), '4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742');
    eq(hex(await subtle.deriveBits({name: 'X25519', public: bobPublic}, alice, null)), hex(bits));
    eq((await subtle.exportKey('jwk', alice)).x,
       b64url(unhex('8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a')));
  });
  test('a small-order public key gives OperationError', async () => {
    const pair = await subtle.generateKey('X25519', false, ['deriveBits']);
    const zero = await subtle.importKey('raw', new Uint8Array(32), 'X25519', true, []);
    await rejects(subtle.deriveBits({name: 'X25519', public: zero}, pair.privateKey, 256),
                  DOMException, 'OperationError');
  });
});

// The GCM specification's test cases 2, 3 and 4 (McGrew and Viega, as in NIST's validation).
group('AesGcm', (test) => {
  const k3 = unhex('feffe9928665731c6d6a8f9467308308');
  const iv3 = unhex('cafebabefacedbaddecaf888');
  const p3 = unhex('d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a72' +
                   '1c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b391aafd255');
  const c3 = '42831ec2217774244b7221b784d0d49ce3aa212f2c02a4e035c17e2329aca12e' +
      '21d514b25466931c7d8f6a5aac84aa051ba30b396a0aac973d58e091473f5985';
  test('test cases 2, 3 and 4', async () => {
    const zero = await subtle.importKey('raw', new Uint8Array(16), 'AES-GCM', false,
                                        ['encrypt', 'decrypt']);
    eq(hex(await subtle.encrypt({name: 'AES-GCM', iv: new Uint8Array(12)}, zero,
                                new Uint8Array(16))),
       '0388dace60b6a392f328c2b971b2fe78' + 'ab6e47d42cec13bdf53a67b21257bddf');
    const key = await subtle.importKey('raw', k3, 'AES-GCM', false, ['encrypt', 'decrypt']);
    eq(hex(await subtle.encrypt({name: 'AES-GCM', iv: iv3}, key, p3)),
       c3 + '4d5c2af327cd64a62cf35abd2ba6fab4');
    const aad = unhex('feedfacedeadbeeffeedfacedeadbeefabaddad2');
    const c4 = await subtle.encrypt({name: 'AES-GCM', iv: iv3, additionalData: aad}, key,
                                    p3.subarray(0, 60));
    eq(hex(c4), c3.slice(0, 120) + '5bc94fbc3221a5db94fae95ae7121a47');
    eq(hex(await subtle.decrypt({name: 'AES-GCM', iv: iv3, additionalData: aad}, key, c4)),
       hex(p3.subarray(0, 60)));
  });
  test('a changed tag, AAD or short input is OperationError', async () => {
    const key = await subtle.importKey('raw', k3, 'AES-GCM', false, ['encrypt', 'decrypt']);
    const c = new Uint8Array(await subtle.encrypt({name: 'AES-GCM', iv: iv3}, key, p3));
    c[c.length - 1] ^= 1;
    await rejects(subtle.decrypt({name: 'AES-GCM', iv: iv3}, key, c), DOMException,
                  'OperationError');
    await rejects(subtle.decrypt({name: 'AES-GCM', iv: iv3}, key, new Uint8Array(8)),
                  DOMException, 'OperationError');
    await rejects(subtle.encrypt({name: 'AES-GCM', iv: iv3, tagLength: 100}, key, p3),
                  DOMException, 'OperationError');
  });
});

group('RoundTrips', (test) => {
  test('ECDSA on each curve signs, verifies and survives every export format', async () => {
    for (const namedCurve of ['P-256', 'P-384', 'P-521']) {
      const alg = {name: 'ECDSA', namedCurve};
      const pair = await subtle.generateKey(alg, true, ['sign', 'verify']);
      const sig = await subtle.sign({name: 'ECDSA', hash: 'SHA-256'}, pair.privateKey,
                                    enc.encode('m'));
      eq(sig.byteLength, {'P-256': 64, 'P-384': 96, 'P-521': 132}[namedCurve]);
      for (const format of ['raw', 'spki', 'jwk']) {
        const data = await subtle.exportKey(format, pair.publicKey);
        const pub = await subtle.importKey(format, data, alg, false, ['verify']);
        eq(await subtle.verify({name: 'ECDSA', hash: 'SHA-256'}, pub, sig, enc.encode('m')), true);
      }
      for (const format of ['pkcs8', 'jwk']) {
        const data = await subtle.exportKey(format, pair.privateKey);
        await subtle.importKey(format, data, alg, false, ['sign']);
      }
    }
  });
  test('RSA-PSS, RSASSA and RSA-OAEP with a 2048-bit key', async () => {
    const gen = {modulusLength: 2048, publicExponent: new Uint8Array([1, 0, 1]), hash: 'SHA-256'};
    const pss = await subtle.generateKey({name: 'RSA-PSS', ...gen}, true, ['sign', 'verify']);
    const sig = await subtle.sign({name: 'RSA-PSS', saltLength: 32}, pss.privateKey,
                                  enc.encode('m'));
    eq(await subtle.verify({name: 'RSA-PSS', saltLength: 32}, pss.publicKey, sig,
                           enc.encode('m')), true);
    const jwk = await subtle.exportKey('jwk', pss.privateKey);
    eq(jwk.alg, 'PS256');
    const pkcs1 = await subtle.importKey('jwk', {...jwk, alg: 'RS256'},
                                         {name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256'}, false,
                                         ['sign']);
    ok((await subtle.sign('RSASSA-PKCS1-v1_5', pkcs1, enc.encode('m'))).byteLength === 256);
    const oaep = await subtle.generateKey({name: 'RSA-OAEP', ...gen}, false,
                                          ['encrypt', 'decrypt']);
    const label = enc.encode('label');
    const c = await subtle.encrypt({name: 'RSA-OAEP', label}, oaep.publicKey, enc.encode('hi'));
    eq(new TextDecoder().decode(await subtle.decrypt({name: 'RSA-OAEP', label}, oaep.privateKey,
                                                     c)), 'hi');
    await rejects(subtle.decrypt({name: 'RSA-OAEP'}, oaep.privateKey, c), DOMException,
                  'OperationError');
  });
  test('AES-KW wraps and unwraps a key; ECDH derives the same secret on both sides', async () => {
    const kek = await subtle.generateKey({name: 'AES-KW', length: 256}, false,
                                         ['wrapKey', 'unwrapKey']);
    const hmac = await subtle.generateKey({name: 'HMAC', hash: 'SHA-256'}, true, ['sign']);
    const wrapped = await subtle.wrapKey('raw', hmac, kek, 'AES-KW');
    const back = await subtle.unwrapKey('raw', wrapped, kek, 'AES-KW',
                                        {name: 'HMAC', hash: 'SHA-256'}, true, ['sign']);
    eq(hex(await subtle.exportKey('raw', back)), hex(await subtle.exportKey('raw', hmac)));
    const a = await subtle.generateKey({name: 'ECDH', namedCurve: 'P-384'}, false, ['deriveBits']);
    const b = await subtle.generateKey({name: 'ECDH', namedCurve: 'P-384'}, false, ['deriveBits']);
    eq(hex(await subtle.deriveBits({name: 'ECDH', public: b.publicKey}, a.privateKey, 384)),
       hex(await subtle.deriveBits({name: 'ECDH', public: a.publicKey}, b.privateKey, 384)));
  });
  test('AES-CTR counter wraps within its length bits', async () => {
    const key = await subtle.importKey('raw', new Uint8Array(16), 'AES-CTR', false,
                                       ['encrypt', 'decrypt']);
    const counter = new Uint8Array(16).fill(0xff);
    counter[0] = 0x12;
    const data = new Uint8Array(48);
    const whole = new Uint8Array(await subtle.encrypt({name: 'AES-CTR', counter, length: 8}, key,
                                                      data));
    // The second block's counter is the first's with its low byte wrapped to zero.
    const second = counter.slice();
    second[15] = 0;
    const tail = new Uint8Array(await subtle.encrypt({name: 'AES-CTR', counter: second, length: 8},
                                                     key, data.subarray(16)));
    eq(hex(whole.subarray(16)), hex(tail));
    await rejects(subtle.encrypt({name: 'AES-CTR', counter, length: 1}, key, new Uint8Array(48)),
                  DOMException, 'OperationError');
  });
});

group('Hostile', (test) => {
  test('malformed SPKI, PKCS8 and JWK are DataErrors', async () => {
    const ec = {name: 'ECDSA', namedCurve: 'P-256'};
    const pair = await subtle.generateKey(ec, true, ['sign', 'verify']);
    const spki = new Uint8Array(await subtle.exportKey('spki', pair.publicKey));
    const pkcs8 = new Uint8Array(await subtle.exportKey('pkcs8', pair.privateKey));
    for (const bad of [new Uint8Array(0), spki.subarray(0, 40), new Uint8Array([...spki, 0]),
                       fill(300, 0x30)]) {
      await rejects(subtle.importKey('spki', bad, ec, true, ['verify']), DOMException,
                    'DataError');
    }
    for (const bad of [new Uint8Array(0), pkcs8.subarray(1), new Uint8Array([...pkcs8, 0])]) {
      await rejects(subtle.importKey('pkcs8', bad, ec, true, ['sign']), DOMException,
                    'DataError');
    }
    // A P-256 key where P-384 was asked for, an RSA key where EC was.
    await rejects(subtle.importKey('spki', spki, {name: 'ECDSA', namedCurve: 'P-384'}, true,
                                   ['verify']),
                  DOMException, 'DataError');
    await rejects(subtle.importKey('spki', spki, {name: 'RSA-PSS', hash: 'SHA-256'}, true,
                                   ['verify']),
                  DOMException, 'DataError');
    const jwk = await subtle.exportKey('jwk', pair.privateKey);
    for (const bad of [{...jwk, x: '!!'}, {...jwk, y: undefined}, {...jwk, crv: 'P-384'},
                       {...jwk, kty: 'RSA'}, {...jwk, d: b64url(fill(32, 0xff))},
                       {...jwk, x: b64url(fill(31, 1))}, {...jwk, ext: false}]) {
      await rejects(subtle.importKey('jwk', bad, ec, true, ['sign']), DOMException, 'DataError');
    }
    await rejects(subtle.importKey('jwk', 'not a dictionary', ec, true, ['sign']), TypeError);
    await rejects(subtle.importKey('raw', fill(65, 4), ec, true, ['verify']), DOMException,
                  'DataError');
  });
  test('wrong key lengths and empty keys are refused', async () => {
    for (const n of [0, 1, 15, 17, 33, 64]) {
      await rejects(subtle.importKey('raw', new Uint8Array(n), 'AES-GCM', true, ['encrypt']),
                    DOMException, 'DataError');
    }
    await rejects(subtle.importKey('raw', new Uint8Array(0), {name: 'HMAC', hash: 'SHA-256'},
                                   true, ['sign']),
                  DOMException, 'DataError');
    await rejects(subtle.importKey('raw', new Uint8Array(31), 'Ed25519', true, ['verify']),
                  DOMException, 'DataError');
    await rejects(subtle.generateKey({name: 'AES-CBC', length: 100}, true, ['encrypt']),
                  DOMException, 'OperationError');
    const key = await subtle.importKey('raw', new Uint8Array(16), 'AES-CBC', false,
                                       ['encrypt', 'decrypt']);
    await rejects(subtle.encrypt({name: 'AES-CBC', iv: new Uint8Array(8)}, key, new Uint8Array(1)),
                  DOMException, 'OperationError');
    await rejects(subtle.decrypt({name: 'AES-CBC', iv: new Uint8Array(16)}, key,
                                 new Uint8Array(15)),
                  DOMException, 'OperationError');
    eq((await subtle.encrypt({name: 'AES-CBC', iv: new Uint8Array(16)}, key,
                             new Uint8Array(0))).byteLength, 16);
  });
  test('a key used against its usages or algorithm is InvalidAccessError', async () => {
    const hmac = await subtle.generateKey({name: 'HMAC', hash: 'SHA-256'}, false, ['verify']);
    await rejects(subtle.sign('HMAC', hmac, new Uint8Array(1)), DOMException,
                  'InvalidAccessError');
    const aes = await subtle.generateKey({name: 'AES-GCM', length: 128}, false, ['encrypt']);
    await rejects(subtle.decrypt({name: 'AES-GCM', iv: new Uint8Array(12)}, aes,
                                 new Uint8Array(32)),
                  DOMException, 'InvalidAccessError');
    await rejects(subtle.encrypt({name: 'AES-CBC', iv: new Uint8Array(16)}, aes,
                                 new Uint8Array(1)),
                  DOMException, 'InvalidAccessError');
    await rejects(subtle.exportKey('raw', aes), DOMException, 'InvalidAccessError');
    const ed = await subtle.generateKey('Ed25519', true, ['sign', 'verify']);
    await rejects(subtle.sign('Ed25519', ed.publicKey, new Uint8Array(1)), DOMException,
                  'InvalidAccessError');
    await rejects(subtle.exportKey('raw', ed.privateKey), DOMException, 'InvalidAccessError');
    await rejects(subtle.exportKey('pkcs8', ed.publicKey), DOMException, 'InvalidAccessError');
    await rejects(subtle.generateKey({name: 'HMAC', hash: 'SHA-256'}, true, ['encrypt']),
                  DOMException, 'SyntaxError');
    await rejects(subtle.generateKey({name: 'HMAC', hash: 'SHA-256'}, true, []), DOMException,
                  'SyntaxError');
    await rejects(subtle.sign('HMAC', {}, new Uint8Array(1)), TypeError);
  });
  test('errors never quote key material', async () => {
    const secret = 'c2VjcmV0LWtleS1tYXRlcmlhbA';
    const e = await rejects(subtle.importKey('jwk', {kty: 'oct', k: secret + '!'},
                                             {name: 'HMAC', hash: 'SHA-256'}, true, ['sign']),
                            DOMException, 'DataError');
    ok(!e.message.includes(secret), 'message without the key');
  });
  test('CryptoKey cannot be constructed and hides its handle', async () => {
    throws(() => new CryptoKey(), TypeError);
    throws(() => new SubtleCrypto(), TypeError);
    const key = await subtle.generateKey({name: 'AES-GCM', length: 128}, false, ['encrypt']);
    deepEq(Object.keys(key), []);
    eq(key.algorithm, key.algorithm);
    eq(key.algorithm.length, 128);
    eq(Object.prototype.toString.call(key), '[object CryptoKey]');
    throws(() => structuredClone(key), DOMException, 'DataCloneError');
  });
});

// Long work: the handler runs it and the C++ side checks the request's outcome.
group('Pbkdf2Huge', (test) => {
  test('100 million iterations', async () => {
    const key = await subtle.importKey('raw', enc.encode('p'), 'PBKDF2', false, ['deriveBits']);
    await subtle.deriveBits({name: 'PBKDF2', hash: 'SHA-256', salt: new Uint8Array(16),
                             iterations: 100000000}, key, 256);
  });
});
// Run under a 128 MiB budget: a 1 GiB input cannot even be made, and an input close to the
// budget is hashed without a second copy.
group('RsaHuge', (test) => {
  test('a 16384-bit RSA key', async () => {
    await subtle.generateKey({name: 'RSA-PSS', modulusLength: 16384,
                              publicExponent: new Uint8Array([1, 0, 1]), hash: 'SHA-256'},
                             false, ['sign']);
  });
});
group('DigestHuge', (test) => {
  test('a 1 GiB input is refused by the memory budget', async () => {
    throws(() => new Uint8Array(1 << 30), RangeError);
  });
  test('a 96 MiB input is hashed in place', async () => {
    const big = new Uint8Array(96 << 20);
    eq(hex(await subtle.digest('SHA-256', big)).length, 64);
  });
});
