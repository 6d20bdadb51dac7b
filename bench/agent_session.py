# The agent session every snapshot benchmark saves: bench.c's (e)/(e') and
# make compare's snapshot rows run this same file (comments only up here, so
# the session's globals are the code's).
import json, re, collections, datetime
def score(item):
    return len(item['name']) * item['qty']
class Cart:
    def __init__(self): self.items = []
    def add(self, **kw): self.items.append(kw); return len(self.items)
cart = Cart()
for i in range(200):
    cart.add(name=f'item-{i}', qty=i % 7, tags=['a', 'b'])
index = collections.Counter(t for it in cart.items for t in it['tags'])
report = json.dumps({'n': len(cart.items), 'top': index.most_common(2)})
