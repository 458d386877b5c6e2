# Small proxy for the course IM server: server['key'] reads, server['key'] = v writes.
# Values come back as bytes with the server's trailing newline still on them.
import urllib.parse
import urllib.request


class IMServerProxy:
    def __init__(self, url):
        self.url = url

    def _request(self, params):
        query = '&'.join(k + '=' + urllib.parse.quote(v, safe='/') for k, v in params)
        with urllib.request.urlopen(self.url + '?' + query) as f:
            return f.read()

    def __getitem__(self, key):
        return self._request([('action', 'get'), ('key', key)])

    def __setitem__(self, key, value):
        self._request([('action', 'set'), ('key', key), ('value', value)])

    def __delitem__(self, key):
        self._request([('action', 'unset'), ('key', key)])

    def keys(self):
        return self._request([('action', 'keys')]).split(b'\n')[:-2]

    def clear(self):
        self._request([('action', 'clear')])
