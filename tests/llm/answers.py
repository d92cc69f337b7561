"""Model answers the fake servers return, in the fenced-block form the prompt asks for."""

from __future__ import annotations

WHO_STOPPED_LOGGING = """```sql
SELECT userIdentity.userName AS user_name, eventName AS action, count(*) AS events
FROM cloudtrail
WHERE eventName IN ('DeleteTrail', 'StopLogging')
GROUP BY ALL
ORDER BY user_name, action
```
These are the users who deleted a trail or stopped CloudTrail logging, with how many times they did it."""

FOLLOW_UP_ONLY_CHRISTOPHE = """Here is the same query for christophe only:

```sql
SELECT event.eventName AS action, event_time
FROM cloudtrail
WHERE event.eventName IN ('DeleteTrail', 'StopLogging') AND event.userIdentity.userName = 'christophe'
ORDER BY event_time
```
It lists when christophe stopped logging or deleted a trail."""

HOSTILE_READ_FILE = """```sql
SELECT * FROM read_csv('/etc/passwd')
```
This reads the file."""

COUNT_EVENTS = """```sql
SELECT count(*) AS events FROM cloudtrail
```
The number of CloudTrail events stored."""

NO_SQL = "I am not sure which table you mean. Could you say which log source?"

UNKNOWN_COLUMN = """```sql
SELECT event.noSuchField FROM cloudtrail
```
A query over a field that does not exist."""

CONSOLE_LOGIN_RULE = """```yaml
title: Console login without MFA
id: 0f2cf1a4-6a8f-4a69-9a38-5d1f3b7c2e11
status: experimental
description: A console sign-in that succeeded without multi-factor authentication.
logsource:
  product: aws
  service: cloudtrail
detection:
  selection:
    eventName: ConsoleLogin
    additionalEventData.MFAUsed: 'No'
    responseElements.ConsoleLogin: Success
  condition: selection
falsepositives:
  - Break-glass accounts
level: high
tests:
  - name: login without MFA
    match: true
    event:
      eventName: ConsoleLogin
      eventSource: signin.amazonaws.com
      additionalEventData: {MFAUsed: 'No'}
      responseElements: {ConsoleLogin: Success}
  - name: login with MFA
    match: false
    event:
      eventName: ConsoleLogin
      eventSource: signin.amazonaws.com
      additionalEventData: {MFAUsed: 'Yes'}
      responseElements: {ConsoleLogin: Success}
```
It alerts on successful console logins where no MFA was used."""

BROKEN_RULE = """```yaml
title: Broken
logsource:
  product: aws
  service: cloudtrail
detection:
  selection:
    eventName: ConsoleLogin
  condition: selecton
level: high
```
A rule whose condition names a selection that does not exist."""

RULE_WITH_FAILING_TEST = """```yaml
title: Trail deleted
id: 8a1d2f0e-3b7c-4d55-9e0a-2c4b6d8f1a23
status: experimental
description: A CloudTrail trail was deleted.
logsource:
  product: aws
  service: cloudtrail
detection:
  selection:
    eventName: DeleteTrail
  condition: selection
level: high
tests:
  - name: trail deleted
    match: true
    event: {eventName: StopLogging}
  - name: other call
    match: false
    event: {eventName: DescribeTrails}
```
Detects trail deletion."""

TRAIL_DELETED_RULE = """```yaml
title: Trail deleted or logging stopped
id: 8a1d2f0e-3b7c-4d55-9e0a-2c4b6d8f1a24
status: experimental
description: A CloudTrail trail was deleted or its logging stopped.
logsource:
  product: aws
  service: cloudtrail
detection:
  selection:
    eventName:
      - DeleteTrail
      - StopLogging
  condition: selection
falsepositives:
  - Planned trail changes
level: high
tests:
  - name: trail deleted
    match: true
    event: {eventName: DeleteTrail, eventSource: cloudtrail.amazonaws.com}
  - name: other call
    match: false
    event: {eventName: DescribeTrails, eventSource: cloudtrail.amazonaws.com}
```
Detects a deleted trail or stopped logging."""
