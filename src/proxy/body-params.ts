import { paramName, paramTokens } from '../rules/param-names.js'

/**
 * What Cloud 66's Rails stack makes of a request body, as far as parameters go. Rails merges
 * form, multipart and JSON body parameters into `params` with the query's, for every method
 * (a GET with a form body sets them too), so a `?name` rule has to see body names as well.
 *
 * - `form`: `application/x-www-form-urlencoded`, and a body with no Content-Type at all (Rack
 *   parses a type-less POST as a form; the proxy treats every method that way, to be safe).
 * - `multipart`: any `multipart/*` (Rack parses form-data, mixed and related).
 * - `json`: the types Rails registers for JSON (`application/json`, `text/x-json`,
 *   `application/jsonrequest`) and, to be safe, any `+json` type.
 * - `other`: a type Rails does not turn into parameters; the proxy cannot tell what it holds.
 */
export type BodyKind = 'form' | 'multipart' | 'json' | 'other'

/**
 * The media type the way Rack and ActionDispatch read it: what comes before the first `;` or
 * `,`, trimmed and lower-cased (so `application/json, text/plain` is JSON to Rails, and is here).
 */
export function mediaTypeOf(contentType: string | undefined): string | undefined {
  if (contentType === undefined) return undefined
  const cut = contentType.search(/[;,]/)
  const type = (cut === -1 ? contentType : contentType.slice(0, cut)).trim().toLowerCase()
  return type === '' ? undefined : type
}

const JSON_TYPES = new Set(['application/json', 'text/x-json', 'application/jsonrequest'])

export function bodyKind(mediaType: string | undefined): BodyKind {
  if (mediaType === undefined || mediaType === 'application/x-www-form-urlencoded') return 'form'
  if (mediaType.startsWith('multipart/')) return 'multipart'
  if (JSON_TYPES.has(mediaType) || mediaType.endsWith('+json')) return 'json'
  return 'other'
}

/**
 * The parameter names a body sets, decoded, every nesting level included (`a[b][c]` gives a,
 * b and c; JSON gives every key at every depth), or undefined when the body cannot be read as
 * its kind (invalid JSON). The lists err on the side of more names: a rule that matches too
 * much refuses a request, one that matches too little lets a secret out.
 */
export function bodyParamNames(kind: Exclude<BodyKind, 'other'>, body: Buffer): string[] | undefined {
  switch (kind) {
    case 'form':
      return formNames(body.toString('latin1'))
    case 'multipart':
      return multipartNames(body.toString('latin1'))
    case 'json':
      return jsonNames(body)
  }
}

/** `a=1&b[c]=2;d` → a, b, c, d. Rack splits bodies on `&` only; `;` too costs nothing and covers Rack 2's queries. */
export function formNames(text: string): string[] {
  const names: string[] = []
  for (const part of text.split(/[&;]/)) {
    if (part === '') continue
    const eq = part.indexOf('=')
    const raw = eq === -1 ? part : part.slice(0, eq)
    // Most names need no decoding and have no nesting: skip the decoder for them.
    if (!/[%+[\]]/.test(raw)) names.push(raw)
    else names.push(...paramTokens(paramName(part)))
  }
  return names
}

/**
 * Every `name=` and `filename=` parameter anywhere in a multipart body, quoted or not, plain or
 * RFC 2231 `name*=charset''value`. The body is not split at its boundary: a parser that
 * disagreed with Rack's about where parts begin (a quoted boundary, a duplicated one) could be
 * led past a part Rack reads; scanning everything cannot. Rack names a part without a `name` by
 * its filename, so filenames count as names too.
 */
export function multipartNames(text: string): string[] {
  const names: string[] = []
  const re = /(?:^|[\s;])(?:file)?name(\*)?[ \t]*=[ \t]*(?:"((?:[^"\\\r\n]|\\.)*)"|([^;\s]*))/gi
  for (let m = re.exec(text); m !== null; m = re.exec(text)) {
    const quoted = m[2]
    let value = quoted !== undefined ? quoted : (m[3] ?? '')
    if (quoted !== undefined && quoted.includes('\\')) names.push(...paramTokens(quoted)) // as written, too
    if (quoted !== undefined) value = value.replace(/\\(.)/g, '$1')
    if (m[1] === '*') {
      const encoded = value.replace(/^[^']*'[^']*'/, '')
      try {
        value = decodeURIComponent(encoded)
      } catch {
        value = encoded
      }
    }
    names.push(...paramTokens(value))
  }
  return names
}

/** Every key of a JSON document at every depth, or undefined when it is not JSON. */
export function jsonNames(body: Buffer): string[] | undefined {
  let doc: unknown
  try {
    // Rails drops a UTF-8 byte order mark like JSON.parse does not.
    doc = JSON.parse(body.toString('utf8').replace(/^\uFEFF/, ''))
  } catch {
    return undefined // invalid, or nested too deep for the parser
  }
  const names: string[] = []
  const stack: unknown[] = [doc]
  while (stack.length > 0) {
    const value = stack.pop()
    if (Array.isArray(value)) {
      for (const item of value as unknown[]) stack.push(item) // not push(...): a long array would overflow the call
    } else if (typeof value === 'object' && value !== null) {
      for (const [key, child] of Object.entries(value)) {
        names.push(...paramTokens(key))
        stack.push(child)
      }
    }
  }
  return names
}
