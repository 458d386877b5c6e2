# IM client: the first user to connect writes first, the second one waits.
# Server keys: status ('off' / 'one' / 'two'), received ('0' / '1'), message.
#
# run:  IM_SERVER_URL=http://host:port/IMserver.php python3 imclient.py
#       (or give the URL as the first argument)
import os
import sys
import time

import im

url = os.environ.get('IM_SERVER_URL') or (sys.argv[1] if len(sys.argv) > 1 else '')
if url == '':
    print('Please set IM_SERVER_URL to the address of the IM server.')
    sys.exit(1)

server = im.IMServerProxy(url)


def value(key):
    return server[key].decode().strip()


def main():
    state = ''
    try:
        status = value('status')
        if status == '' or status == 'off':
            server['received'] = '0'
            server['status'] = 'one'
            state = 'send'
            print('Waiting for another user to connect...')
            while value('status') != 'two':
                time.sleep(1)
            print('Another user has connected. You can start chatting!')
        elif status == 'one':
            server['status'] = 'two'
            state = 'wait'
            print('Connected! The other user will write first.')
            print('Other user is typing...')
        else:
            print('Server is currently in use. Please try again later.')
            return

        while True:
            if state == 'send':
                msg = input('Type your message: ')
                if msg == 'quit':
                    server['status'] = 'off'
                    print('You have left the chat.')
                    return
                if value('status') != 'two':
                    print('The other user has left the conversation. Closing connection.')
                    return
                server['message'] = msg
                server['received'] = '1'
                state = 'wait'
                print('Other user is typing...')
            else:
                time.sleep(1)
                if value('received') == '1':
                    msg = server['message'].decode()[:-1]
                    if msg.strip() != '':
                        print('Other user: ' + msg)
                        server['received'] = '0'
                        state = 'send'
                        continue
                if value('status') != 'two':
                    print('The other user has left the conversation. Closing connection.')
                    return
    except (KeyboardInterrupt, EOFError):
        # tell the other user that we are gone
        if state != '':
            try:
                server['status'] = 'off'
            except Exception:
                pass
        print('\nYou have left the chat.')
    except Exception as e:
        print('Server connection interrupted: ' + str(e))


main()
