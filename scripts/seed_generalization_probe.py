"""Does a from-scratch model trained on 1-2 digit scratchpads generalise to longer sums?

A standalone probe in plain PyTorch/transformers (the same Llama architecture, character
vocabulary, prompt, hint and scratchpad format as the built-in addition task) used to size the
main job and to test remedies for length generalisation before building them into the C++
system. It trains M0 on 1..--seed_digits digit sums (optionally some zero-padded to --pad
digits, some with the hint), evaluates greedy accuracy per length 1-8 with and without the
hint, and with --iters N runs a plain STaR loop (generate, rationalize, train from M0).

  .venv/bin/python scripts/seed_generalization_probe.py --seed_steps 1500 --lr 1e-3 --iters 0
  ... --rope_factor 1000        # linear RoPE scaling: rotations almost switched off
  ... --pos_offset 200 --nospace 1   # random position offsets in training, digits unspaced
  ... --pad 5                   # half the seed sums zero-padded to 3-5 digits
  ... --tagged 1                # every digit tagged with its column's letter (random offset)
"""
import argparse
import json
import random
import time

import torch
from transformers import LlamaConfig, LlamaForCausalLM

SEP = ' '
def spaced(v, d=1):
    s = str(v).rjust(d, '0'); return SEP.join(s)
def question(a, b, d):
    return f"{spaced(a,d)} + {spaced(b,d)}", spaced(a+b)
def prompt(q): return f"Input:\n{q}\nTarget:\n"
def hinted(q, ans): return f"Input:\n{q}\nHint: {ans}\nTarget:\n"
def reference(q):
    l, r = q.split(' + '); a=[int(x) for x in l if x!=' ']; b=[int(x) for x in r if x!=' ']
    lines=["<scratch>"]; result=[]; carry=0
    def line(rem):
        p = f"{SEP.join(map(str,a[:rem]))} + {SEP.join(map(str,b[:rem]))} " if rem>0 else ""
        res=SEP.join(map(str,result))
        return f"{p},{' ' if res else ''}{res} C: {carry}"
    lines.append(line(len(a)))
    for rem in range(len(a),0,-1):
        s=a[rem-1]+b[rem-1]+carry; result.insert(0,s%10); carry=s//10; lines.append(line(rem-1))
    fin=[carry]+result; lines.append(SEP.join(map(str,fin))); lines.append("</scratch>")
    ans = fin if carry else result
    lines.append(SEP.join(map(str,ans)))
    return '\n'.join(lines)+"\n\n"

import string
def tag_digits(digits, n, base):
    # digits most-significant first; column of digit i (from the right) gets letter base+col
    return ' '.join(string.ascii_lowercase[base + n - 1 - i] + str(d) for i, d in enumerate(digits))
def t_question(a, b, d, base):
    da=[int(x) for x in str(a).rjust(d,'0')]; db=[int(x) for x in str(b).rjust(d,'0')]
    return f"{tag_digits(da,d,base)} + {tag_digits(db,d,base)}", ' '.join(str(a+b)), base
def t_reference(q):
    l, r = q.split(' + '); ta=l.split(); tb=r.split()
    base = string.ascii_lowercase.index(ta[-1][0]); n=len(ta)
    a=[int(t[1]) for t in ta]; b=[int(t[1]) for t in tb]
    lines=["<scratch>"]; result=[]; carry=0
    def line(rem):
        p = f"{' '.join(ta[:rem])} + {' '.join(tb[:rem])} " if rem>0 else ""
        res=' '.join(string.ascii_lowercase[base + len(result)-1-i] + str(x) for i,x in enumerate(result))
        return f"{p},{' ' if res else ''}{res} C: {carry}"
    lines.append(line(n))
    for rem in range(n,0,-1):
        s_=a[rem-1]+b[rem-1]+carry; result.insert(0,s_%10); carry=s_//10; lines.append(line(rem-1))
    fin=[carry]+result; lines.append(' '.join(map(str,fin))); lines.append("</scratch>")
    ans = fin if carry else result
    lines.append(' '.join(map(str,ans)))
    return '\n'.join(lines)+"\n\n"

def extract(c):
    i=c.rfind("</scratch>\n")
    if i<0: return None
    rest=c[i+len("</scratch>\n"):]; line=rest.split('\n')[0]
    return line or None
def gen(d, n, rng):
    lo = 0 if d==1 else 10**(d-1); hi=10**d-1
    return [question(a:=rng.randint(lo,hi), b:=rng.randint(lo,hi), d) for _ in range(n)]

p = argparse.ArgumentParser()
p.add_argument('--hidden', type=int, default=128); p.add_argument('--layers', type=int, default=4)
p.add_argument('--heads', type=int, default=4); p.add_argument('--kv', type=int, default=2)
p.add_argument('--seed_n', type=int, default=2000); p.add_argument('--seed_steps', type=int, default=500)
p.add_argument('--seed_digits', type=int, default=2)
p.add_argument('--bs', type=int, default=32); p.add_argument('--lr', type=float, default=3e-3)
p.add_argument('--pool', type=int, default=200); p.add_argument('--iters', type=int, default=5)
p.add_argument('--steps0', type=int, default=300); p.add_argument('--inc', type=int, default=60)
p.add_argument('--eval_n', type=int, default=50); p.add_argument('--rat', type=int, default=1)
p.add_argument('--maxd', type=int, default=5); p.add_argument('--threads', type=int, default=2)
p.add_argument('--hintfrac', type=float, default=0.25)
p.add_argument('--rope_factor', type=float, default=0)
p.add_argument('--pos_offset', type=int, default=0)
p.add_argument('--nospace', type=int, default=0)
p.add_argument('--pad', type=int, default=0)
p.add_argument('--tagged', type=int, default=0)
args = p.parse_args()
if args.nospace:
    SEP = ''  # noqa: the format helpers read the module-level SEP
torch.set_num_threads(args.threads); torch.manual_seed(0)
vocab = json.load(open(str(__import__('pathlib').Path(__file__).resolve().parent.parent / 'examples/tiny-char-llama/tokenizer.json')))['model']['vocab']
inv = {v:k for k,v in vocab.items()}
enc = lambda s: [vocab[c] for c in s]
cfg = LlamaConfig(vocab_size=100, hidden_size=args.hidden, intermediate_size=int(args.hidden*2.6875)//8*8,
    num_hidden_layers=args.layers, num_attention_heads=args.heads, num_key_value_heads=args.kv,
    max_position_embeddings=1024, rope_scaling=({'rope_type':'linear','factor':args.rope_factor} if args.rope_factor else None), rms_norm_eps=1e-6, tie_word_embeddings=True, bos_token_id=1, eos_token_id=2, pad_token_id=0)
base = LlamaForCausalLM(cfg); print('params', sum(p.numel() for p in base.parameters()))
T0=time.time()
def train(model, examples, steps, lr, warm=20):
    opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=0.0)
    model.train(); rng = random.Random(steps); toks=0; t=time.time(); losses=[]
    for s in range(steps):
        for g in opt.param_groups: g['lr'] = lr*min(1,(s+1)/warm)
        batch = [examples[rng.randrange(len(examples))] for _ in range(args.bs)]
        seqs = [[1]+enc(pp)+enc(c) for pp,c in batch]; L=max(map(len,seqs))
        ids = torch.zeros(len(seqs),L,dtype=torch.long); lab = torch.full((len(seqs),L),-100); att=torch.zeros(len(seqs),L,dtype=torch.long)
        for i,(pp,c) in enumerate(batch):
            sq=seqs[i]; ids[i,:len(sq)]=torch.tensor(sq); att[i,:len(sq)]=1
            n=1+len(pp); lab[i,n:len(sq)]=torch.tensor(sq[n:])
        off=torch.randint(0,args.pos_offset+1,(len(seqs),1)) if args.pos_offset else 0
        out = model(input_ids=ids, attention_mask=att, labels=lab, position_ids=torch.arange(L)[None,:]+off); opt.zero_grad(); out.loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0); opt.step(); toks+=att.sum().item(); losses.append(out.loss.item())
    print(f'  train {steps} steps loss {sum(losses[-10:])/10:.4f} {toks/(time.time()-t):.0f} tok/s {time.time()-t:.0f}s', flush=True)
@torch.no_grad()
def generate(model, prompts, maxnew):
    model.eval(); outs=[]
    for i in range(0,len(prompts),64):
        ps=[[1]+enc(x) for x in prompts[i:i+64]]; L=max(map(len,ps))
        ids=torch.zeros(len(ps),L,dtype=torch.long); att=torch.zeros(len(ps),L,dtype=torch.long)
        for j,s in enumerate(ps): ids[j,L-len(s):]=torch.tensor(s); att[j,L-len(s):]=1
        done=torch.zeros(len(ps),dtype=torch.bool); gen=[[] for _ in ps]
        pos=(att.cumsum(1)-1).clamp(min=0)
        out=model(input_ids=ids, attention_mask=att, position_ids=pos, use_cache=True); pkv=out.past_key_values
        nxt=out.logits[:,-1].argmax(-1); last=pos[:,-1]
        for t in range(maxnew):
            for j in range(len(ps)):
                if not done[j]:
                    gen[j].append(nxt[j].item())
                    if len(gen[j])>=2 and gen[j][-1]==4 and gen[j][-2]==4: done[j]=True
            if done.all(): break
            att=torch.cat([att,torch.ones(len(ps),1,dtype=torch.long)],1); last=last+1
            out=model(input_ids=nxt[:,None], attention_mask=att, position_ids=last[:,None], past_key_values=pkv, use_cache=True)
            pkv=out.past_key_values; nxt=out.logits[:,-1].argmax(-1)
        outs += [''.join(inv[x] for x in g) for g in gen]
    return outs
def maxnew(d): return (2 if args.tagged else 1)*len(reference(question(10**d-1,10**d-1,d)[0]))+4
def evaluate(model, label, hint=False):
    rng=random.Random(999); accs=[]
    for d in range(1,9):
        qs=gen(d,args.eval_n,rng)
        if args.tagged:
            qs=[t_question(int(q.split(' + ')[0].replace(' ','')), int(q.split(' + ')[1].replace(' ','')), d, rng.randint(0,26-d))[:2] for q,a in qs]
        ps=[hinted(q,a) if hint else prompt(q) for q,a in qs]
        outs=generate(model,ps,maxnew(d))
        accs.append(sum(extract(o)==a for o,(q,a) in zip(outs,qs))/len(qs))
    print(f'{label}{" hinted" if hint else ""}: '+' '.join(f'{d+1}:{a*100:.0f}' for d,a in enumerate(accs)), f'overall1-5 {sum(accs[:5])/5*100:.1f}  t={time.time()-T0:.0f}s', flush=True)
    return accs
rng=random.Random(1)
seed=[]
for d in range(1,args.seed_digits+1):
    lo = 0 if d==1 else 10**(d-1); hi=10**d-1
    qs=[]
    for i in range(args.seed_n//args.seed_digits):
        a_,b_=rng.randint(lo,hi),rng.randint(lo,hi)
        w = rng.randint(d+1,args.pad) if args.pad and rng.random()<0.5 else d
        if args.tagged:
            q_,ans_,_ = t_question(a_,b_,d,rng.randint(0,24)); qs.append((q_,ans_))
        else:
            qs.append(question(a_,b_,w))
    for i,(q,a) in enumerate(qs):
        seed.append((hinted(q,a) if random.random()<args.hintfrac else prompt(q), t_reference(q) if args.tagged else reference(q)))
m0=LlamaForCausalLM(cfg); m0.load_state_dict(base.state_dict())
train(m0, seed, args.seed_steps, args.lr)
evaluate(m0,'M0'); evaluate(m0,'M0',True)
pool=[]
for d in range(1,args.maxd+1): pool+=gen(d,args.pool,rng)
model=m0
for n in range(1,args.iters+1):
    outs=generate(model,[prompt(q) for q,a in pool],maxnew(args.maxd))
    kept=[]; wrong=[]
    for o,(q,a) in zip(outs,pool):
        if extract(o)==a: kept.append((prompt(q),o))
        else: wrong.append((q,a))
    nd=len(kept)
    if args.rat and wrong:
        outs=generate(model,[hinted(q,a) for q,a in wrong],maxnew(args.maxd))
        for o,(q,a) in zip(outs,wrong):
            if extract(o)==a: kept.append((prompt(q),o))
    bylen={}
    for pp,o in kept: d=(pp.split('\n')[1].split(' + ')[0].count(' ')+1); bylen[d]=bylen.get(d,0)+1
    print(f'iter {n}: direct {nd} rationalized {len(kept)-nd} bylen {sorted(bylen.items())} t={time.time()-T0:.0f}s', flush=True)
    if not kept:
        print('  nothing kept: the model stays M0'); model=m0; continue
    m=LlamaForCausalLM(cfg); m.load_state_dict(m0.state_dict())
    train(m, kept, args.steps0+args.inc*(n-1), args.lr)
    evaluate(m,f'M{n}'); model=m
if args.iters==0:
    for d in (2,3):
        qs=gen(d,3,random.Random(5)); outs=generate(m0,[prompt(q) for q,a in qs],maxnew(d))
        for (q,a),o in zip(qs,outs): print(repr(q),repr(a)); print(o)
