# Ruby's Net::HTTP as one client of the real-client matrix (real-clients.test.ts).
# Usage: ruby net_http.rb BASE OUTDIR, one request per stdin line: NAME METHOD PATH BODY (none,
# form, json or chunked). Prints one JSON line per request ({name, status, headers}) and writes the
# body to OUTDIR/NAME.body. Net::HTTP never follows redirects.
require 'json'
require 'net/http'
require 'uri'

base, out = ARGV
token = ENV['C66_TOKEN']
$stdout.sync = true
$stdin.each_line do |line|
  name, method, path, body = line.split
  uri = URI(base + path)
  req = Net::HTTP.const_get(method.capitalize).new(uri)
  req['Authorization'] = "Bearer #{token}" if token && !token.empty?
  upload = nil
  case body
  when 'form'
    req['Content-Type'] = 'application/x-www-form-urlencoded'
    req.body = ENV.fetch('C66_FORM_BODY').b
  when 'json'
    req['Content-Type'] = 'application/json'
    req.body = ENV.fetch('C66_JSON_BODY').b
  when 'chunked'
    req['Content-Type'] = 'application/octet-stream'
    req['Transfer-Encoding'] = 'chunked'
    req.body_stream = upload = File.open(ENV.fetch('C66_UPLOAD_FILE'), 'rb')
  end
  Net::HTTP.start(uri.host, uri.port, read_timeout: 60) do |http|
    http.request(req) do |res|
      File.open(File.join(out, "#{name}.body"), 'wb') { |f| res.read_body { |chunk| f.write(chunk) } }
      puts JSON.generate({ name: name, status: res.code.to_i, headers: res.to_hash })
    end
  end
  upload&.close
end
